/**
 * Config values reach the dump tools as values, never as options or connection settings:
 * proven with the real pg_dump and mariadb-dump against the real servers.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectedTarget } from '../src/config/load.ts';
import { mysqlDumper } from '../src/dumpers/mysql.ts';
import { postgresDumper } from '../src/dumpers/postgres.ts';
import { restorePostgres } from '../src/restore/postgres.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb } from './helpers/mariadb.ts';
import { PG, psql, uniqueName } from './helpers/postgres.ts';

const suffix = uniqueName('x').slice(2);
/** A real database whose name is a connection string, and one with spaces, quotes and a backslash. */
const plainDb = `sv_conn_${suffix}`;
const connStringDb = `dbname=${plainDb} sslmode=disable`;
const oddDb = `sv odd=${suffix} 'q' "d" \\b`;
const oddRestored = `sv restored=${suffix} host=nowhere 'q'`;
const mariaDb = uniqueName('sv_maria_args');
const mariaUser = `sv_pw_${suffix}`;
let dir: string;

const run = promisify(execFile);
const pgIdentifier = (s: string) => `"${s.replace(/"/g, '""')}"`;

function target(overrides: Partial<ConnectedTarget>): ConnectedTarget {
  return {
    name: 'main',
    engine: 'postgres',
    host: PG.host,
    port: PG.port,
    user: PG.user,
    database: plainDb,
    tls: { mode: 'prefer' },
    dump: {},
    timezone: 'UTC',
    staging: '/unused',
    destinations: ['local'],
    notify: [],
    retention: { keepLast: 1 },
    runner: 'efs',
    runnerReason: 'host 127.0.0.1 is a private address, reached only from inside its network',
    // A drill makes the dumpers count rows per table: the counts tell which database was dumped.
    verify: { drill: { into: `postgres://${PG.user}@${PG.host}:${PG.port}/sv_unused_drill` } },
    ...overrides,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-args-'));
  for (const db of [plainDb, oddDb]) {
    await psql('postgres', `CREATE DATABASE ${pgIdentifier(db)}`);
  }
  await psql(plainDb, 'CREATE TABLE plain_marker AS SELECT 1 AS id');
  // psql's -d would read the odd name as a connection string too; PGDATABASE is taken as it is.
  await run(
    'psql',
    ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-XAtq', '-c', 'CREATE TABLE odd_marker AS SELECT 1 AS id'],
    { env: { ...process.env, PGDATABASE: oddDb } },
  );
  await createMariaDatabase(mariaDb);
  await mariadb(mariaDb, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3)');
}, 60_000);

afterAll(async () => {
  for (const db of [plainDb, oddDb, oddRestored])
    await psql('postgres', `DROP DATABASE IF EXISTS ${pgIdentifier(db)} WITH (FORCE)`).catch(() => undefined);
  await dropMariaDatabase(mariaDb);
  await mariadb(undefined, `DROP USER IF EXISTS '${mariaUser}'@'%'`).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('pg_dump: the database name is only a name', () => {
  it('dumps a database literally named with "=", spaces, quotes and a backslash', async () => {
    const file = path.join(dir, 'odd.dump');
    const output = await postgresDumper.dump({ target: target({ database: oddDb }), file });
    expect(output.rowCounts).toEqual({ 'public.odd_marker': 1 });
  });

  it('restores into a database literally named with "=", spaces and quotes (psql and pg_restore get the same quoted connection)', async () => {
    const file = path.join(dir, 'odd-for-restore.dump');
    await postgresDumper.dump({ target: target({ database: oddDb }), file });
    await restorePostgres(
      file,
      { family: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: oddRestored },
      {},
    );
    const { stdout } = await run(
      'psql',
      ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-XAtq', '-c', 'SELECT count(*) FROM odd_marker'],
      { env: { ...process.env, PGDATABASE: oddRestored } },
    );
    expect(stdout.trim()).toBe('1');
  });

  it('cannot switch TLS off: "dbname=x sslmode=disable" under tls require is refused by the server, not dumped in the clear', async () => {
    // This server speaks no TLS, so honouring the configured "require" means failing to connect.
    const file = path.join(dir, 'conn.dump');
    const attempt = postgresDumper.dump({ target: target({ database: connStringDb, tls: { mode: 'require' } }), file });
    await expect(attempt).rejects.toThrow(/server does not support SSL/);
  });

  it('takes "dbname=x sslmode=disable" as the name of a database, which does not exist here', async () => {
    const attempt = postgresDumper.dump({
      target: target({ database: connStringDb }),
      file: path.join(dir, 'conn2.dump'),
    });
    await expect(attempt).rejects.toThrow(`database "${connStringDb}" does not exist`);
  });

  it('takes a table pattern that looks like an option as a pattern', async () => {
    const attempt = postgresDumper.dump({
      target: target({ dump: { tables: ['--exclude-table=plain_marker'] } }),
      file: path.join(dir, 'opt.dump'),
    });
    await expect(attempt).rejects.toThrow(/no matching tables were found/);
  });
});

describe('mariadb-dump: names after "--", the password quoted in the option file', () => {
  const mariaTarget = (overrides: Partial<ConnectedTarget>) =>
    target({
      engine: 'mariadb',
      host: MARIADB.host,
      port: MARIADB.port,
      user: MARIADB.user,
      database: mariaDb,
      tls: { mode: 'disable' },
      ...overrides,
    });

  it('takes a table named "--where=1=0" as a table, not as a filter that empties the dump', async () => {
    const attempt = mysqlDumper('mariadb').dump({
      target: mariaTarget({ dump: { tables: ['--where=1=0'] } }),
      file: path.join(dir, 'where.sql.gz'),
    });
    await expect(attempt).rejects.toThrow(/Couldn't find table: "--where=1=0"/);
  });

  it('takes a database named "--version" as a database', async () => {
    const attempt = mysqlDumper('mariadb').dump({
      target: mariaTarget({ database: '--version' }),
      file: path.join(dir, 'version.sql.gz'),
    });
    await expect(attempt).rejects.toThrow(/Unknown database '--version'/);
  });

  it('logs in with a password holding quotes, backslashes, #, spaces, a tab and a newline, and writes no file the password names', async () => {
    const sideFile = path.join(dir, 'injected.sql');
    const password = ` a"b\\c#d e'f\tg\nresult-file=${sideFile} `;
    const sqlString = password.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\t/g, '\\t');
    await mariadb(
      undefined,
      `CREATE USER '${mariaUser}'@'%' IDENTIFIED BY '${sqlString}'; GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER ON \`${mariaDb}\`.* TO '${mariaUser}'@'%'; GRANT SELECT ON mysql.proc TO '${mariaUser}'@'%'`,
    );
    const output = await mysqlDumper('mariadb').dump({
      target: mariaTarget({ user: mariaUser }),
      password,
      file: path.join(dir, 'pw.sql.gz'),
    });
    expect(output.rowCounts).toEqual({ t: 3 });
    expect(await readdir(dir)).not.toContain('injected.sql');
  });

  it('refuses a control character the option file cannot carry, naming where the password belongs', async () => {
    const attempt = mysqlDumper('mariadb').dump({
      target: mariaTarget({}),
      password: 'a\u0001b',
      file: path.join(dir, 'ctl.sql.gz'),
    });
    await expect(attempt).rejects.toThrow(
      'the password of targets.main contains a control character a MySQL option file cannot carry',
    );
  });
});
