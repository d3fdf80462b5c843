import { describe, expect, it } from 'vitest';
import { createUserIfMissing, mysqlString } from './server-mysql.ts';
import type { ConnectedTarget } from '../config/load.ts';
import type { ServerLayout } from '../contracts.ts';
import { serverChoiceProblem } from '../restore/server.ts';
import { chooseDatabases, memberFileName } from './server.ts';
import { mariadbUsersArgs } from './server-mariadb.ts';
import { pgDumpallArgs } from './server-postgres.ts';

const target: ConnectedTarget = {
  name: 'cluster',
  engine: 'postgres',
  host: 'db.internal',
  port: 5432,
  database: 'postgres',
  databases: 'all',
  globals: { rolePasswords: false },
  tls: { mode: 'prefer' },
  dump: {},
  timezone: 'UTC',
  staging: '/tmp/s',
  destinations: ['local'],
  notify: [],
  retention: { keepLast: 7 },
  runner: 'efs',
  runnerReason: 'test',
};

describe('which databases a whole server backs up', () => {
  it('takes all but the templates on PostgreSQL, and all but the system schemas on MariaDB', () => {
    expect(chooseDatabases(target, ['app', 'postgres', 'template0', 'template1', '-odd\nname'])).toEqual([
      'app',
      'postgres',
      '-odd\nname',
    ]);
    expect(
      chooseDatabases({ ...target, engine: 'mariadb' }, [
        'information_schema',
        'mysql',
        'performance_schema',
        'shop',
        'sys',
      ]),
    ).toEqual(['shop']);
  });

  it('refuses a list naming a database the server lacks, or one of its own, saying what it has', () => {
    expect(() => chooseDatabases({ ...target, databases: ['app', 'gone'] }, ['app', 'billing', 'template1'])).toThrow(
      'targets.cluster.databases names "gone", which the server does not have; it has "app", "billing"',
    );
    expect(() => chooseDatabases({ ...target, databases: ['template1'] }, ['app', 'template1'])).toThrow(
      'targets.cluster.databases names template1, which the server keeps for itself',
    );
  });

  it('refuses all on a server with nothing to back up', () => {
    expect(() => chooseDatabases(target, ['template0', 'template1'])).toThrow(
      'targets.cluster.databases is all, but the server has no database to back up besides template0, template1',
    );
  });

  it('names member files safely, numbered, whatever the database is called', () => {
    expect(memberFileName(0, 'app', '.dump')).toBe('001-app.dump');
    expect(memberFileName(11, '../-x y\n', '.sql.zst')).toBe('012-.._-x_y_.sql.zst');
  });
});

describe('the globals', () => {
  it('leaves role passwords out unless asked, with every value glued to its option', () => {
    expect(pgDumpallArgs(target)).toEqual([
      "--dbname=dbname='postgres' host='db.internal' port='5432' user='postgres' sslmode='prefer'",
      '--database=postgres',
      '--no-password',
      '--globals-only',
      '--no-role-passwords',
    ]);
    expect(pgDumpallArgs({ ...target, globals: { rolePasswords: true } })).not.toContain('--no-role-passwords');
  });

  it("dumps MariaDB's users as CREATE USER IF NOT EXISTS, the password in the option file", () => {
    const args = mariadbUsersArgs({ ...target, engine: 'mariadb', port: 3306 }, 'mariadb', '/tmp/x/client.cnf', {
      name: 'mariadb-dump',
      file: '/usr/bin/mariadb-dump',
      prefixArgs: [],
      origin: 'PATH',
    });
    expect(args[0]).toBe('--defaults-file=/tmp/x/client.cnf');
    expect(args.slice(-2)).toEqual(['--system=users', '--insert-ignore']);
    expect(args.join(' ')).not.toMatch(/password=/);
  });
});

describe('restoring a whole-server backup', () => {
  const layout: ServerLayout = {
    kind: 'server',
    members: [
      { file: '001-app.dump', database: 'app', size: 1, sha256: 'a' },
      { file: '002-billing.dump', database: 'billing', size: 1, sha256: 'b' },
      { file: 'globals.sql', size: 1, sha256: 'c' },
    ],
  };

  it('asks which part to restore, and names what the backup holds', () => {
    expect(serverChoiceProblem('k.server.tar', layout, undefined)).toBe(
      'k.server.tar is a whole-server backup of 2 databases ("app", "billing"): choose --database NAME to restore one of them into --into, or --all to restore the roles and users, then every database; nothing was restored',
    );
    expect(serverChoiceProblem('k.server.tar', layout, { database: 'nope' })).toBe(
      'k.server.tar holds no database "nope"; it holds "app", "billing"; nothing was restored',
    );
    expect(serverChoiceProblem('k.server.tar', layout, { database: 'billing' })).toBeUndefined();
    expect(serverChoiceProblem('k.server.tar', layout, { all: true })).toBeUndefined();
  });
});

describe('MySQL accounts in the globals', () => {
  it('quotes names as MySQL string literals, whatever they hold', () => {
    expect(mysqlString("o'brien")).toBe("'o''brien'");
    expect(mysqlString('back\\slash\nnew')).toBe("'back\\\\slash\\nnew'");
  });

  it('makes SHOW CREATE USER safe to run where the account exists', () => {
    expect(createUserIfMissing("CREATE USER `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x24")).toBe(
      "CREATE USER IF NOT EXISTS `a`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x24",
    );
  });
});
