import { describe, expect, it } from 'vitest';
import type { ConnectedTarget } from '../config/load.ts';
import {
  classifyMysqlDumpFailure,
  clientFlavor,
  mysqlDumpArgs,
  mysqlTlsArgs,
  optionFileText,
  parseMysqlToolVersion,
  parseServerVersion,
  restoreClientsFor,
} from './mysql.ts';

const target: ConnectedTarget = {
  name: 'shop',
  engine: 'mariadb',
  host: 'shop.internal',
  port: 3307,
  database: 'shop',
  user: 'backup',
  password: 'env:PW',
  tls: { mode: 'prefer' },
  dump: {},
  timezone: 'UTC',
  staging: '/tmp/s',
  destinations: ['local'],
  notify: [],
  retention: { keepLast: 7 },
  runner: 'efs',
  runnerReason: 'host db.internal is a private name, reached only from inside its network',
};

describe('mariadb-dump / mysqldump command', () => {
  it('puts the option file first and dumps one consistent transaction with everything in it', () => {
    const args = mysqlDumpArgs(target, 'mariadb', 'mariadb', '/tmp/x/client.cnf');
    expect(args[0]).toBe('--defaults-file=/tmp/x/client.cnf');
    expect(args).toEqual(
      expect.arrayContaining([
        '--single-transaction',
        '--routines',
        '--triggers',
        '--events',
        '--hex-blob',
        '--host=shop.internal',
        '--port=3307',
        '--user=backup',
      ]),
    );
    expect(args.slice(-2)).toEqual(['--', 'shop']);
    expect(args).not.toContain('--set-gtid-purged=OFF');
    expect(args.some((a) => a.startsWith('--plugin-dir'))).toBe(false);
    expect(mysqlDumpArgs(target, 'mariadb', 'mariadb', '/f', '/opt/dbtools/lib/plugin')[1]).toBe(
      '--plugin-dir=/opt/dbtools/lib/plugin',
    );
  });

  it('leaves GTID history alone for MySQL, and tables out on request', () => {
    const args = mysqlDumpArgs(
      { ...target, engine: 'mysql', dump: { excludeTables: ['sessions'], tables: ['orders'] } },
      'mysql',
      'mysql',
      '/f',
    );
    expect(args).toContain('--set-gtid-purged=OFF');
    expect(args).toContain('--ignore-table=shop.sessions');
    expect(args.slice(-3)).toEqual(['--', 'shop', 'orders']);
  });

  it('speaks each client family’s TLS options', () => {
    expect(mysqlTlsArgs('mariadb', { mode: 'disable' })).toEqual(['--skip-ssl']);
    expect(mysqlTlsArgs('mariadb', { mode: 'verify-full', ca: '/ca.pem' })).toEqual([
      '--ssl',
      '--ssl-verify-server-cert',
      '--ssl-ca=/ca.pem',
    ]);
    expect(mysqlTlsArgs('mysql', { mode: 'verify-full', ca: '/ca.pem' })).toEqual([
      '--ssl-mode=VERIFY_IDENTITY',
      '--ssl-ca=/ca.pem',
    ]);
    expect(mysqlTlsArgs('mysql', { mode: 'require' })).toEqual(['--ssl-mode=REQUIRED']);
  });

  it('quotes the password in the option file and keeps it out of the arguments', () => {
    expect(optionFileText('p"w\\x')).toBe('[client]\npassword="p\\"w\\\\x"\n');
    expect(optionFileText(undefined)).toBe('[client]\n');
    expect(optionFileText('a\nresult-file=/x\tb\r\b')).toBe('[client]\npassword="a\\nresult-file=/x\\tb\\r\\b"\n');
    expect(() => optionFileText('a\u0000b', 'the password of targets.shop')).toThrow(
      'the password of targets.shop contains a control character a MySQL option file cannot carry',
    );
    expect(mysqlDumpArgs(target, 'mariadb', 'mariadb', '/f').join(' ')).not.toMatch(/password/);
  });
});

describe('versions and failures', () => {
  it('tells the client family and versions apart', () => {
    const maria = 'mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)';
    expect(clientFlavor(maria)).toBe('mariadb');
    expect(parseMysqlToolVersion(maria)).toBe('10.11.19-MariaDB');
    const maria11 = '/opt/dbtools/bin/mariadb-dump from 11.8.9-MariaDB, client 10.20 for debian-linux-gnu (x86_64)';
    expect(clientFlavor(maria11)).toBe('mariadb');
    expect(parseMysqlToolVersion(maria11)).toBe('11.8.9-MariaDB');
    expect(clientFlavor('mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)')).toBe('mysql');
    expect(parseMysqlToolVersion('mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)')).toBe(
      '8.0.36',
    );
    expect(
      parseServerVersion(
        '-- MariaDB dump 10.19\n--\n-- Host: 127.0.0.1    Database: shop\n-- Server version\t10.11.19-MariaDB-0+deb12u1\n',
      ),
    ).toBe('10.11.19-MariaDB-0+deb12u1');
  });

  it.each([
    [
      `mariadb-dump: Got error: 2002: "Can't connect to server on 'shop.internal' (115)" when trying to connect`,
      'ConnectionError',
    ],
    [
      `mysqldump: Got error: 2005: Unknown MySQL server host 'shop.internal' (-2) when trying to connect`,
      'ConnectionError',
    ],
    [
      `mariadb-dump: Got error: 1045: "Access denied for user 'backup'@'10.0.0.9' (using password: YES)" when trying to connect`,
      'ConfigError',
    ],
    [`mariadb-dump: Got error: 1049: "Unknown database 'shop'" when selecting the database`, 'ConfigError'],
    [`mariadb-dump: Error 1205: Lock wait timeout exceeded; try restarting transaction`, 'TransientError'],
    [`mariadb-dump: Couldn't execute 'SHOW CREATE TABLE x': Table 'x' is marked as crashed`, 'DumpError'],
    [
      `mariadb-dump: Got error: 2026: "TLS/SSL error: SSL is required, but the server does not support it" when trying to connect`,
      'ConfigError',
    ],
  ])('%s → %s', (stderr, name) => {
    expect(classifyMysqlDumpFailure(stderr, target).name).toBe(name);
  });

  it.each([
    [
      `mariadb-dump: Couldn't execute 'show events': Access denied for user 'backup'@'%' to database 'shop' (1044)`,
      'EVENT',
    ],
    [
      `mariadb-dump: Couldn't execute 'show create table \`v\`': SHOW VIEW command denied to user 'backup'@'10.0.0.9' for table \`shop\`.\`v\` (1142)`,
      'SHOW VIEW',
    ],
    [
      'mariadb-dump: backup has insufficient privileges to SHOW CREATE FUNCTION `double_it`!',
      'a privilege to read routines',
    ],
    [
      `mariadb-dump: Got error: 1044: "Access denied for user 'backup'@'%' to database 'shop'" when selecting the database`,
      'SELECT',
    ],
  ])('a missing privilege is named, not blamed on the password: %s', (stderr, privilege) => {
    const error = classifyMysqlDumpFailure(stderr, target);
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain(
      privilege.includes(' ') && !privilege.startsWith('SHOW')
        ? `lacks ${privilege}`
        : `lacks the ${privilege} privilege`,
    );
    expect(error.message).not.toContain('check user and password');
  });
});

describe('restoreClientsFor', () => {
  it("loads MySQL's dump with MySQL's client and MariaDB's with MariaDB's (the sandbox line)", () => {
    expect(restoreClientsFor({ name: 'mysqldump', version: '9.7.4-2' })).toEqual(['mysql', 'mariadb']);
    expect(restoreClientsFor({ name: 'mariadb-dump', version: '11.8.9-MariaDB' })).toEqual(['mariadb', 'mysql']);
    // MariaDB's compatibility link under MySQL's name still writes MariaDB's dump.
    expect(restoreClientsFor({ name: 'mysqldump', version: '10.11.19-MariaDB' })).toEqual(['mariadb', 'mysql']);
    expect(restoreClientsFor(undefined)).toEqual(['mariadb', 'mysql']);
  });
});
