import { describe, expect, it } from 'vitest';
import { inDumpScope, judgePostgresScope, patternMatcher } from './privileges-postgres.ts';

const target = (dump: Record<string, string[]> = {}) => ({ dump }) as Parameters<typeof inDumpScope>[0];

describe('inDumpScope', () => {
  it('reads pg_dump patterns, qualified or not', () => {
    expect(patternMatcher('orders')('sales.orders')).toBe(true);
    expect(patternMatcher('sales.ord*')('sales.orders')).toBe(true);
    expect(patternMatcher('sales.ord*')('public.orders')).toBe(false);
    expect(patternMatcher('ord?rs')('public.orders')).toBe(true);
  });

  it('follows schemas, excludeSchemas, tables, excludeTables and excludeTableData', () => {
    expect(inDumpScope(target(), 'sales', 'sales.orders')).toBe(true);
    expect(inDumpScope(target({ schemas: ['public'] }), 'sales', 'sales.orders')).toBe(false);
    expect(inDumpScope(target({ excludeSchemas: ['sales'] }), 'sales', 'sales.orders')).toBe(false);
    expect(inDumpScope(target({ tables: ['public.*'] }), 'sales', 'sales.orders')).toBe(false);
    expect(inDumpScope(target({ tables: ['orders'] }), 'sales', 'sales.orders')).toBe(true);
    expect(inDumpScope(target({ excludeTables: ['sales.orders'] }), 'sales', 'sales.orders')).toBe(false);
    // Its data is left out, so pg_dump never reads it.
    expect(inDumpScope(target({ excludeTableData: ['orders'] }), 'sales', 'sales.orders')).toBe(false);
  });
});

describe('judgePostgresScope', () => {
  const rows = [
    ['user', '"Backup User"', 't', ''],
    ['schema', 'public', 't', 'public'],
    ['schema', 'audit', 'f', 'audit'],
    ['table', 'public.orders', 't', 'public.orders'],
    ['table', 'audit.log', 'f', 'audit.log'],
    ['sequence', 'public.orders_id_seq', 't', 'public.orders_id_seq'],
  ];

  it('a line per kind of object; a missing grant is named with its GRANT, the user quoted as SQL wants', () => {
    expect(judgePostgresScope(target(), rows)).toEqual([
      {
        name: 'privileges: schemas',
        status: 'fail',
        detail: '"Backup User" lacks USAGE on 1 of 2 schemas: audit',
        fix: 'GRANT USAGE ON SCHEMA audit TO "Backup User";',
      },
      {
        name: 'privileges: tables',
        status: 'fail',
        detail: '"Backup User" lacks SELECT on 1 of 2 tables: audit.log',
        fix: 'GRANT SELECT ON TABLE audit.log TO "Backup User"; (or GRANT pg_read_all_data TO "Backup User"; on PostgreSQL 14+)',
      },
      { name: 'privileges: sequences', status: 'ok', detail: 'SELECT on all 1' },
      { name: 'privileges: large objects', status: 'ok', detail: "none in the dump's scope" },
      { name: 'privileges: row security', status: 'ok', detail: 'no table in the scope has row-level security' },
    ]);
  });

  it('leaves out what the dump leaves out: a schema outside its scope needs no grant', () => {
    const results = judgePostgresScope(target({ excludeSchemas: ['audit'] }), rows);
    expect(results.every((r) => r.status === 'ok')).toBe(true);
  });

  it('a table whose policies would hide rows from the user fails, with BYPASSRLS as the fix', () => {
    const results = judgePostgresScope(target(), [
      ['user', 'backup', 't', ''],
      ['row security', 'public.orders', 'f', 'public.orders'],
      ['row security', 'public.own', 't', 'public.own'],
      ['row security', 'audit.log', 'f', 'audit.log'],
    ]);
    expect(results.at(-1)).toEqual({
      name: 'privileges: row security',
      status: 'fail',
      detail:
        'the policies of 2 table(s) would hide rows from backup, and pg_dump stops there: public.orders, audit.log',
      fix: 'ALTER ROLE backup BYPASSRLS; (as a superuser)',
    });
    // A table outside the dump's scope does not count.
    const scoped = judgePostgresScope(target({ schemas: ['public'] }), [
      ['user', 'backup', 't', ''],
      ['row security', 'audit.log', 'f', 'audit.log'],
    ]);
    expect(scoped.at(-1)!.status).toBe('ok');
  });

  it('past twenty names, one GRANT per schema', () => {
    const many = Array.from({ length: 25 }, (_, i) => ['table', `big.t${i}`, 'f', `big.t${i}`]);
    const [, tables] = judgePostgresScope(target(), [['user', 'backup', 't', ''], ...many]);
    expect(tables!.detail).toBe(
      'backup lacks SELECT on 25 of 25 tables: big.t0, big.t1, big.t2, big.t3, big.t4, big.t5, big.t6, big.t7, big.t8, big.t9 and 15 more',
    );
    expect(tables!.fix).toBe(
      'GRANT SELECT ON ALL TABLES IN SCHEMA big TO backup; (or GRANT pg_read_all_data TO backup; on PostgreSQL 14+)',
    );
  });
});
