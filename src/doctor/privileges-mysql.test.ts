import { describe, expect, it } from 'vitest';
import { accountName, judgeMysqlGrants, routineGrant } from './privileges-mysql.ts';

const rows = (user: string, version: string, grants: string[], tables = ['3', '0']) => [
  ['#user', user, version],
  ...grants.map((g) => [g]),
  ['#tables', ...tables],
];

const byName = (results: ReturnType<typeof judgeMysqlGrants>) => new Map(results.map((r) => [r.name, r]));

describe('judgeMysqlGrants', () => {
  it('passes MySQL 8 grants as SHOW GRANTS writes them (backquoted, SHOW_ROUTINE on *.*)', () => {
    const results = judgeMysqlGrants(
      'shop',
      rows('backup@%', '8.0.36', [
        'GRANT USAGE, SHOW_ROUTINE ON *.* TO `backup`@`%`',
        'GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `shop`.* TO `backup`@`%`',
      ]),
    );
    expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    expect(results.map((r) => r.name)).toEqual([
      'privileges: SELECT',
      'privileges: SHOW VIEW',
      'privileges: TRIGGER',
      'privileges: EVENT',
      'privileges: routines',
      'privileges: locking',
    ]);
  });

  it('names each missing grant with the statement that adds it, for this account', () => {
    const results = byName(
      judgeMysqlGrants('shop', rows("o'brien@10.0.%", '8.0.36', ["GRANT SELECT ON `shop`.* TO `o'brien`@`10.0.%`"])),
    );
    expect(results.get('privileges: SELECT')!.status).toBe('ok');
    expect(results.get('privileges: EVENT')).toEqual({
      name: 'privileges: EVENT',
      status: 'fail',
      detail: "'o''brien'@'10.0.%' lacks EVENT on `shop`.* (the dump asks for events and stops without it)",
      fix: "GRANT EVENT ON `shop`.* TO 'o''brien'@'10.0.%';",
    });
    expect(results.get('privileges: SHOW VIEW')!.fix).toBe("GRANT SHOW VIEW ON `shop`.* TO 'o''brien'@'10.0.%';");
    expect(results.get('privileges: TRIGGER')!.fix).toBe("GRANT TRIGGER ON `shop`.* TO 'o''brien'@'10.0.%';");
    expect(results.get('privileges: routines')!.fix).toBe("GRANT SHOW_ROUTINE ON *.* TO 'o''brien'@'10.0.%';");
  });

  it('counts ALL PRIVILEGES on the database or on *.* as every privilege', () => {
    for (const scope of ['`shop`.*', '*.*']) {
      const results = judgeMysqlGrants(
        'shop',
        rows('admin@%', '10.11.19-MariaDB', [`GRANT ALL PRIVILEGES ON ${scope} TO \`admin\`@\`%\``]),
      );
      expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
    }
  });

  it('does not take another database’s grants for this one’s', () => {
    const results = byName(
      judgeMysqlGrants(
        'shop',
        rows('backup@%', '10.11.19-MariaDB', ['GRANT SELECT, EVENT ON `shop2`.* TO `backup`@`%`']),
      ),
    );
    expect(results.get('privileges: SELECT')!.status).toBe('fail');
    expect(results.get('privileges: EVENT')!.status).toBe('fail');
  });

  it('says when tables are outside the transaction’s snapshot, without failing', () => {
    const results = byName(judgeMysqlGrants('shop', rows('root@localhost', '10.11.19-MariaDB', [], ['5', '2'])));
    expect(results.get('privileges: locking')).toEqual({
      name: 'privileges: locking',
      status: 'ok',
      detail: '--single-transaction needs no LOCK TABLES; 2 non-InnoDB table(s) are read outside the snapshot',
    });
  });
});

describe('routineGrant', () => {
  it('gives each server the privilege that shows routine bodies there', () => {
    expect(routineGrant('10.11.19-MariaDB', 'shop')).toBe('SELECT ON mysql.proc');
    expect(routineGrant('11.2.6-MariaDB', 'shop')).toBe('SELECT ON mysql.proc');
    expect(routineGrant('11.4.5-MariaDB-log', 'shop')).toBe('SHOW CREATE ROUTINE ON `shop`.*');
    expect(routineGrant('5.7.44-log', 'shop')).toBe('SELECT ON mysql.proc');
    expect(routineGrant('8.0.19', 'shop')).toBe('SELECT ON mysql.proc');
    expect(routineGrant('8.0.20', 'shop')).toBe('SHOW_ROUTINE ON *.*');
    expect(routineGrant('8.4.3', 'shop')).toBe('SHOW_ROUTINE ON *.*');
  });
});

describe('accountName', () => {
  it('splits at the last @ and quotes both halves', () => {
    expect(accountName('backup@%')).toBe("'backup'@'%'");
    expect(accountName('me@corp@10.0.0.1')).toBe("'me@corp'@'10.0.0.1'");
  });
});
