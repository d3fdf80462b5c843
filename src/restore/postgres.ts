/**
 * Restores a custom-format dump with pg_restore, in two steps the caller can tell apart: preparing
 * the database (created when missing) and loading the archive into it, which changes it.
 *
 * pg_dump 18 writes `SET transaction_timeout = 0;` into every archive; a server older than 17
 * does not know that setting, so pg_restore reports one error for it and goes on. That one error
 * is harmless and expected; any other error fails the restore.
 */
import { execFile } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { toolEnvironment, firstErrorLine } from '../tools/environment.ts';
import { pgConnectionString } from '../tools/pg-conninfo.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import { ConfigError, ConnectionError, DumpError, StepvaultError, VersionMismatchError } from '../errors.ts';
import { parsePgToolVersion } from '../tools/pg-version.ts';
import { pgRestoreCannotRead } from '../dumpers/postgres-compression.ts';
import type { DatabaseContents } from './contents.ts';
import type { DatabaseUrl } from './url.ts';

const run = promisify(execFile);

export interface PostgresRestoreOptions {
  clean?: boolean;
  jobs?: number;
  noOwner?: boolean;
}

/** How psql and pg_restore reach `database` on the URL's server: one quoted connection string, as pg_dump gets. */
function connectionArgs(url: DatabaseUrl, database: string): string[] {
  return [
    `--dbname=${pgConnectionString({ host: url.host, port: url.port, user: url.user, database })}`,
    '--no-password',
  ];
}

/** `file` undefined: pg_restore reads the archive from its standard input. */
export function pgRestoreArgs(url: DatabaseUrl, file: string | undefined, options: PostgresRestoreOptions): string[] {
  return [
    ...connectionArgs(url, url.database),
    ...(options.clean ? ['--clean', '--if-exists'] : []),
    ...(options.jobs && options.jobs > 1 ? ['--jobs', String(options.jobs)] : []),
    ...(options.noOwner ? ['--no-owner', '--no-acl'] : []),
    ...(file === undefined ? [] : [file]),
  ];
}

/** pg_restore's errors, less the one a pg_dump 18 archive causes on an older server. */
export function unexpectedRestoreErrors(stderr: string): string[] {
  const blocks = stderr.split(/\n(?=pg_restore: )/);
  return blocks
    .filter((b) => /^pg_restore: error:/.test(b) && !/transaction_timeout/.test(b))
    .map((b) => b.split('\n')[0]!);
}

function libpqEnvironment(url: DatabaseUrl): NodeJS.ProcessEnv {
  return toolEnvironment({ PGPASSWORD: url.password, PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'stepvault-restore' });
}

/** One psql statement against `database` on the URL's server; its unaligned output. */
async function psqlQuery(url: DatabaseUrl, database: string, statement: string): Promise<string> {
  const psql = resolveTool(['psql']);
  const args = [...connectionArgs(url, database), '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', statement];
  try {
    return (
      await run(psql.file, [...psql.prefixArgs, ...args], { env: libpqEnvironment(url), maxBuffer: 16 * 1024 * 1024 })
    ).stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    if (/password authentication failed|no password supplied|role ".*" does not exist/.test(stderr))
      throw new ConfigError(`cannot log in to ${url.host}:${url.port} as ${url.user}: ${firstErrorLine(stderr)}`);
    if (/could not connect|Connection refused|timeout expired|could not translate host/i.test(stderr))
      throw new ConnectionError(`cannot reach ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
    throw new DumpError(`cannot inspect or prepare database ${url.database}: ${firstErrorLine(stderr)}`);
  }
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

// Objects in user schemas that an extension did not bring with it.
const USER_SCHEMA = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;
const NOT_FROM_EXTENSION = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;
const CONTENTS_SQL = `
  SELECT kind || ' ' || name FROM (
    SELECT 1 AS o, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type' ELSE 'table' END AS kind,
           format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c') AND ${USER_SCHEMA} AND ${NOT_FROM_EXTENSION('pg_class', 'c.oid')}
    UNION ALL
    SELECT 2, 'function', format('%I.%I', n.nspname, p.proname)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMA} AND ${NOT_FROM_EXTENSION('pg_proc', 'p.oid')}
    UNION ALL
    SELECT 3, 'type', format('%I.%I', n.nspname, t.typname)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('e', 'd', 'r') AND ${USER_SCHEMA} AND ${NOT_FROM_EXTENSION('pg_type', 't.oid')}
    UNION ALL
    SELECT 4, 'schema', format('%I', n.nspname)
      FROM pg_namespace n WHERE ${USER_SCHEMA} AND n.nspname <> 'public' AND ${NOT_FROM_EXTENSION('pg_namespace', 'n.oid')}
    UNION ALL
    SELECT 5, 'large object', oid::text FROM pg_largeobject_metadata
  ) objects ORDER BY o, name`;

/** Whether the database exists and which user objects it holds (see README, "Restore"). */
export async function postgresContents(url: DatabaseUrl): Promise<DatabaseContents> {
  const exists =
    (await psqlQuery(url, 'postgres', `SELECT 1 FROM pg_database WHERE datname = ${literal(url.database)}`)).trim() ===
    '1';
  if (!exists) return { exists: false, objects: [] };
  const objects = (await psqlQuery(url, url.database, CONTENTS_SQL)).split('\n').filter(Boolean);
  return { exists: true, objects };
}

/** Creates the database when it is missing; true when it did. */
export async function createPostgresDatabase(url: DatabaseUrl): Promise<boolean> {
  const exists =
    (await psqlQuery(url, 'postgres', `SELECT 1 FROM pg_database WHERE datname = ${literal(url.database)}`)).trim() ===
    '1';
  if (exists) return false;
  await psqlQuery(url, 'postgres', `CREATE DATABASE "${url.database.replace(/"/g, '""')}"`);
  return true;
}

/**
 * Fails before anything is downloaded or changed when the pg_restore at hand cannot read the
 * backup (its compression, or the archive format of the pg_dump that wrote it), naming the
 * version that can.
 */
export async function checkPgRestoreReads(archive: { compression: string; pgDumpVersion: string }): Promise<void> {
  const pgRestore = resolveTool(['pg_restore']);
  const version = parsePgToolVersion(await toolVersionLine(pgRestore));
  const problem = pgRestoreCannotRead(archive, version);
  if (problem) throw new VersionMismatchError(`${problem}; pg_restore was found in ${pgRestore.origin}`);
}

/** Loads the archive into the (existing) database with pg_restore. */
export async function loadPostgres(
  source: string | Readable,
  url: DatabaseUrl,
  options: PostgresRestoreOptions,
): Promise<{ warnings: string[] }> {
  const pgRestore = resolveTool(['pg_restore']);
  const file = typeof source === 'string' ? source : undefined;
  try {
    const restoring = run(pgRestore.file, [...pgRestore.prefixArgs, ...pgRestoreArgs(url, file, options)], {
      env: libpqEnvironment(url),
      maxBuffer: 64 * 1024 * 1024,
    });
    // A stream (a backup decrypted as it is read) goes in on standard input; its own failure
    // (an altered ciphertext) is the one to report, not the broken pipe it leaves pg_restore.
    if (typeof source !== 'string') {
      const fed = pipeline(source, restoring.child.stdin!);
      const [feeding, restored] = await Promise.allSettled([fed, restoring]);
      if (feeding.status === 'rejected') throw feeding.reason;
      if (restored.status === 'rejected') throw restored.reason;
    } else await restoring;
    return { warnings: [] };
  } catch (error) {
    if (error instanceof StepvaultError) throw error;
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    const unexpected = unexpectedRestoreErrors(stderr);
    if (unexpected.length === 0 && /transaction_timeout/.test(stderr)) {
      return {
        warnings: [
          'the server does not know transaction_timeout (a PostgreSQL 17+ setting pg_dump 18 writes); that one statement was skipped, as it should be',
        ],
      };
    }
    throw new DumpError(
      `pg_restore into ${url.database} failed: ${unexpected.slice(0, 5).join('; ') || firstErrorLine(stderr)}`,
    );
  }
}

/** Both steps at once, for a scratch database nobody else uses (the restore drill). */
export async function restorePostgres(
  file: string | Readable,
  url: DatabaseUrl,
  options: PostgresRestoreOptions,
): Promise<{ warnings: string[] }> {
  await createPostgresDatabase(url);
  return loadPostgres(file, url, options);
}

/**
 * A whole server's roles (pg_dumpall --globals-only) run through psql against the server's
 * postgres database. Roles the server has already (postgres itself, at least) make their CREATE
 * ROLE fail: that is expected, and their attributes are still set as in the backup by the ALTER
 * ROLE that follows. Any other error fails the restore.
 */
export async function loadPostgresGlobals(file: string, url: DatabaseUrl): Promise<{ warnings: string[] }> {
  const psql = resolveTool(['psql']);
  const args = [...connectionArgs(url, 'postgres'), '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-f', file];
  let stderr: string;
  try {
    stderr = (
      await run(psql.file, [...psql.prefixArgs, ...args], { env: libpqEnvironment(url), maxBuffer: 16 * 1024 * 1024 })
    ).stderr;
  } catch (error) {
    stderr = (error as { stderr?: string }).stderr ?? String(error);
    if (/could not connect|Connection refused|timeout expired|could not translate host/i.test(stderr))
      throw new ConnectionError(`cannot reach ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
    throw new DumpError(`restoring the roles into ${url.host}:${url.port} failed: ${firstErrorLine(stderr)}`);
  }
  const errors = stderr.split('\n').filter((line) => /\bERROR:/.test(line));
  const existing = errors.filter((line) => /role "[^"]*" already exists/.test(line));
  const unexpected = errors.filter((line) => !existing.includes(line));
  if (unexpected.length > 0)
    throw new DumpError(
      `restoring the roles into ${url.host}:${url.port} failed: ${unexpected
        .slice(0, 5)
        .map((line) => line.replace(/^psql:[^:]*:\d+:\s*/, ''))
        .join('; ')}`,
    );
  return {
    warnings:
      existing.length > 0
        ? [
            `${existing.length} role(s) existed already (${existing
              .slice(0, 5)
              .map((line) => /role "([^"]*)"/.exec(line)?.[1])
              .join(', ')}${existing.length > 5 ? ', …' : ''}): kept, with their attributes set as in the backup`,
          ]
        : [],
  };
}
