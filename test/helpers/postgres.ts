/** The local PostgreSQL (127.0.0.1:5432, user postgres) through psql, for setting up and comparing. */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PG = { host: '127.0.0.1', port: Number(process.env.STEPVAULT_TEST_PGPORT ?? 5432), user: 'postgres' };

/**
 * What a default PostgreSQL backup is compressed with here: zstd where the pg_dump on PATH is 16
 * or newer, else gzip (the fallback the dumper takes and records).
 */
export function defaultPgCompression(): 'zstd' | 'gzip' {
  const line = execFileSync('pg_dump', ['--version'], { encoding: 'utf8' });
  return Number(/\)\s+(\d+)/.exec(line)?.[1]) >= 16 ? 'zstd' : 'gzip';
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function psql(database: string, sql: string, port = PG.port): Promise<string> {
  const { stdout } = await run(
    'psql',
    ['-h', PG.host, '-p', String(port), '-U', PG.user, '-d', database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
  );
  return stdout.trim();
}

export async function createDatabase(name: string, port = PG.port): Promise<void> {
  await psql('postgres', `CREATE DATABASE "${name}"`, port);
}

export async function dropDatabase(name: string, port = PG.port): Promise<void> {
  await psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, port);
}

export async function pgRestore(file: string, database: string): Promise<void> {
  await run('pg_restore', [
    '-h',
    PG.host,
    '-p',
    String(PG.port),
    '-U',
    PG.user,
    '--exit-on-error',
    '-d',
    database,
    file,
  ]);
}

/** md5 of every table's rows in a stable order, keyed by qualified name. */
export async function tableDigests(database: string): Promise<Record<string, string>> {
  const tables = (
    await psql(
      database,
      `SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    )
  )
    .split('\n')
    .filter(Boolean);
  const digests: Record<string, string> = {};
  for (const table of tables) {
    digests[table] = await psql(
      database,
      `SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM ${table} t`,
    );
  }
  return digests;
}

/** Counts of every kind of object a dump must carry, plus large objects' contents and sequences. */
export async function objectInventory(database: string): Promise<Record<string, string>> {
  const q = (sql: string) => psql(database, sql);
  const userSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;
  return {
    relations: await q(
      `SELECT string_agg(relkind::text || '=' || c, ',' ORDER BY relkind) FROM (SELECT relkind, count(*) c FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE ${userSchemas} GROUP BY relkind) s`,
    ),
    functions: await q(
      `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${userSchemas}`,
    ),
    triggers: await q(`SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal`),
    enums: await q(`SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum`),
    schemas: await q(`SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace n WHERE ${userSchemas}`),
    largeObjects: await q(
      `SELECT count(*) || ':' || coalesce(md5(string_agg(encode(lo_get(oid), 'hex'), ',' ORDER BY oid)), '') FROM pg_largeobject_metadata`,
    ),
    sequences: await q(
      `SELECT string_agg(s, ',' ORDER BY s) FROM (SELECT format('%I.%I=%s', schemaname, sequencename, last_value) s FROM pg_sequences) q`,
    ),
  };
}

/** Loads test/fixtures/postgres-rich.sql (schemas, quoting, unicode, large objects, …) into a database. */
export async function loadRichPostgres(database: string): Promise<void> {
  await run('psql', [
    '-h',
    PG.host,
    '-p',
    String(PG.port),
    '-U',
    PG.user,
    '-d',
    database,
    '-Xq',
    '-v',
    'ON_ERROR_STOP=1',
    '-f',
    new URL('../fixtures/postgres-rich.sql', import.meta.url).pathname,
  ]);
}
