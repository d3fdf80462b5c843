import { describe, expect, it } from 'vitest';
import type { ConnectedTarget } from '../config/load.ts';
import { classifyPgDumpFailure, parsePgToolVersion, pgDumpArgs, pgEnvironment } from './postgres.ts';
import { parseArchiveHeader } from './pg-archive-check.ts';

const target: ConnectedTarget = {
  name: 'orders',
  engine: 'postgres',
  host: 'db.internal',
  port: 5433,
  database: 'orders',
  password: 'env:PW',
  tls: { mode: 'verify-full', ca: '/opt/certs/rds.pem' },
  dump: {},
  timezone: 'UTC',
  staging: '/tmp/s',
  destinations: ['local'],
  notify: [],
  retention: { keepLast: 7 },
  runner: 'efs',
  runnerReason: 'host db.internal is a private name, reached only from inside its network',
};

describe('pg_dump command', () => {
  it('uses the custom format, always names a user, includes large objects and never prompts', () => {
    expect(pgDumpArgs(target, ['--compress=zstd:1'])).toEqual([
      '--format=custom',
      "--dbname=dbname='orders' host='db.internal' port='5433' user='postgres' sslmode='verify-full' sslrootcert='/opt/certs/rds.pem'",
      '--no-password',
      '-b',
      '--compress=zstd:1',
    ]);
  });

  it('maps dump options to flags, one argument each (never a shell string)', () => {
    const args = pgDumpArgs(
      {
        ...target,
        user: 'backup',
        dump: {
          schemas: ['sales'],
          excludeTables: ['sales.tmp_*'],
          excludeTableData: ['logs'],
          noOwner: true,
        },
      },
      ['--compress=gzip:9'],
    );
    expect(args).toEqual(
      expect.arrayContaining([
        '--compress=gzip:9',
        '--no-owner',
        '--schema=sales',
        '--exclude-table=sales.tmp_*',
        '--exclude-table-data=logs',
      ]),
    );
    expect(args[1]).toContain("user='backup'");
  });

  it('quotes the database name inside its own connection string, so it cannot add settings', () => {
    const args = pgDumpArgs({ ...target, database: "x' sslmode='disable \\", tls: { mode: 'require' } }, []);
    expect(args[1]).toBe(
      "--dbname=dbname='x\\' sslmode=\\'disable \\\\' host='db.internal' port='5433' user='postgres' sslmode='require'",
    );
  });

  it('glues every configured name to its option', () => {
    const args = pgDumpArgs({ ...target, dump: { tables: ['--where=1=0'], schemas: ['-n'] } }, []);
    expect(args).toContain('--table=--where=1=0');
    expect(args).toContain('--schema=-n');
  });

  it('passes the password and TLS settings by environment', () => {
    expect(pgEnvironment(target, 's3cret')).toMatchObject({
      PGPASSWORD: 's3cret',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/opt/certs/rds.pem',
    });
    expect(pgDumpArgs(target, ['--compress=zstd:1']).join(' ')).not.toContain('s3cret');
  });
});

describe('pg_dump failures', () => {
  it('names both versions and the way out when pg_dump is older than the server', () => {
    const error = classifyPgDumpFailure(
      'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 18.1; pg_dump version: 15.20 (Debian 15.20-0+deb12u1)\n',
      target,
      '15.20',
    );
    expect(error.name).toBe('VersionMismatchError');
    expect(error.message).toContain('pg_dump 15.20 cannot dump the PostgreSQL 18.1 server of target orders');
    expect(error.message).toContain('Use pg_dump 18 or newer');
  });

  it.each([
    [
      'pg_dump: error: connection to server at "db.internal" (10.0.0.5), port 5433 failed: Connection refused',
      'ConnectionError',
    ],
    [
      'pg_dump: error: could not translate host name "db.internal" to address: Name or service not known',
      'ConnectionError',
    ],
    [
      'pg_dump: error: connection to server at "db.internal", port 5433 failed: FATAL:  password authentication failed for user "postgres"',
      'ConfigError',
    ],
    ['pg_dump: error: connection to server failed: FATAL:  database "orders" does not exist', 'ConfigError'],
    ['pg_dump: error: query failed: ERROR:  canceling statement due to lock timeout', 'TransientError'],
    ['pg_dump: error: query failed: ERROR:  invalid snapshot identifier: "00000003-00000021-1"', 'TransientError'],
    ['pg_dump: error: query failed: ERROR:  permission denied for table secrets', 'ConfigError'],
    [
      'pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: server does not support SSL, but SSL was required',
      'ConfigError',
    ],
    [
      'pg_dump: error: connection to server at "db.internal", port 5432 failed: root certificate file "/ca.pem" does not exist',
      'ConfigError',
    ],
    ['pg_dump: error: query failed: server closed the connection unexpectedly', 'ConnectionError'],
    ['pg_dump: error: error reading large object 16421: invalid page in block 3', 'DumpError'],
  ])('%s → %s', (stderr, name) => {
    expect(classifyPgDumpFailure(stderr, target, '17.2').name).toBe(name);
  });
});

describe('versions', () => {
  it('reads tool and archive versions', () => {
    expect(parsePgToolVersion('pg_dump (PostgreSQL) 18.1 (Debian 18.1-1)')).toBe('18.1');
    expect(
      parseArchiveHeader(
        ';\n; Archive created at 2026-11-22\n;     TOC Entries: 42\n;     Dumped from database version: 15.20 (Debian)\n;     Dumped by pg_dump version: 17.2\n',
      ),
    ).toEqual({
      serverVersion: '15.20',
      dumpVersion: '17.2',
      entries: 42,
    });
  });
});
