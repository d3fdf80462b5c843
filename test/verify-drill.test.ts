/**
 * The Verify state: what landed is checked against what was dumped, and a restore drill restores
 * the backup into a scratch database and compares rows per table with the dump's own counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb, loadRichMariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName, loadRichPostgres } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_drill_pg');
const mariaSource = uniqueName('sv_drill_maria');
const workspaces: Workspace[] = [];

beforeAll(async () => {
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
});

afterAll(async () => {
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  await Promise.all(workspaces.map((w) => w.remove()));
});

async function workspaceWith(target: Record<string, unknown>): Promise<Workspace> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(configFor(target));
  return workspace;
}

describe('Verify and the restore drill', () => {
  it('PostgreSQL: downloads and hashes the object, restores into a scratch database, compares every table, drops it', async () => {
    const workspace = await workspaceWith({
      engine: 'postgres',
      host: PG.host,
      user: PG.user,
      database: pgSource,
      verify: { download: true, drill: { into: `postgres://postgres@127.0.0.1:${PG.port}/sv_scratch` } },
    });
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const counts = record.state.dump!.rowCounts!;
    expect(counts['sales.orders']).toBe(500);
    expect(counts['"Weird ""Schema"" Ü"."Table With ""Quotes"" & Spaces"']).toBe(4);
    expect(counts['public.events_2025']! + counts['public.events_2026']!).toBe(400);
    expect(record.state.verify).toMatchObject({
      destinations: [{ destination: 'local', checked: 'download' }],
      drill: { tables: Object.keys(counts).length, rows: Object.values(counts).reduce((a, b) => a + b, 0) },
    });
    expect(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE 'sv_scratch%'`)).toBe('0');
    const [mail] = await workspace.outbox();
    expect(mail!.body).toMatch(/restore drill passed: \d+ tables, \d+ rows restored into sv_scratch_\w+ and compared/);
    expect(record.metrics.find((m) => 'RestoreDrillSucceeded' in m)).toMatchObject({ RestoreDrillSucceeded: 1 });
  });

  it('MariaDB: the same drill through the mariadb client', async () => {
    const workspace = await workspaceWith({
      engine: 'mariadb',
      host: MARIADB.host,
      user: MARIADB.user,
      database: mariaSource,
      verify: { drill: { into: 'mariadb://root@127.0.0.1:3306/sv_scratch' } },
    });
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    // Every customer row fired the trigger that writes `log table`.
    expect(record.state.dump!.rowCounts).toEqual({ customers: 304, 'log table': 304 });
    expect(record.state.verify?.drill).toMatchObject({ tables: 2, rows: 608 });
    expect(
      await mariadb(undefined, `SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name LIKE 'sv_scratch%'`),
    ).toBe('0');
  });

  it('a drill that cannot reach its scratch server fails the run in Verify, and the mail says so', async () => {
    const workspace = await workspaceWith({
      engine: 'postgres',
      host: PG.host,
      user: PG.user,
      database: pgSource,
      verify: { drill: { into: 'postgres://postgres@127.0.0.1:1/sv_scratch' } },
    });
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Verify', error: 'ConnectionError' });
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'Verify').length).toBeGreaterThan(0);
    const [mail] = await workspace.outbox();
    expect(mail!.headers.subject).toBe('[stepvault] main: backup stored, but FAILED in Verify (ConnectionError)');
    expect(mail!.body).toContain('cannot reach the drill server 127.0.0.1:1');
    expect(record.metrics.find((m) => 'RestoreDrillFailed' in m)).toMatchObject({ RestoreDrillFailed: 1 });
    expect(await workspace.stagingEntries()).toEqual([]);
  });
});
