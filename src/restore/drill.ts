/**
 * The restore drill: the staged dump (the bytes that were just stored, checksums verified) is
 * restored into a scratch database, its rows per table are compared with the counts taken from
 * the dump, and the scratch database is dropped again, whatever happened. A parallel dump (a tar
 * of pg_dump's folder) is unpacked beside the staged file first and restored with as many jobs.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { FinishedDump } from '../contracts.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import { resolveTool } from '../tools/resolver.ts';
import { ConnectionError, DumpError } from '../errors.ts';
import { mysqlConnection, restoreMysql } from './mysql.ts';
import { unpackDirectoryDump } from './directory.ts';
import { createScratch, removeScratch } from '../tools/scratch.ts';
import { checkPgRestoreReads, restorePostgres } from './postgres.ts';
import type { DatabaseUrl } from './url.ts';

const run = promisify(execFile);

export interface DrillOutcome {
  database: string;
  tables: number;
  rows: number;
  seconds: number;
}

/**
 * `open`, for an encrypted dump: the staged file decrypted as it is read, straight into the
 * restore tool, so no plaintext is written to staging.
 */
export async function restoreDrill(
  dump: FinishedDump,
  file: string,
  scratch: DatabaseUrl,
  runId: string,
  open: (file: string) => Promise<string | Readable> = async (f) => f,
): Promise<DrillOutcome> {
  const started = Date.now();
  const database = `${scratch.database}_${runId.replace(/[^A-Za-z0-9]/g, '_').slice(-40)}`.toLowerCase();
  const into = { ...scratch, database };
  if (!dump.rowCounts)
    throw new DumpError(
      'the restore drill needs the row counts of the dump, which are not kept for more than 2000 tables',
    );
  if (scratch.family === 'postgres')
    await checkPgRestoreReads({ compression: dump.compression, pgDumpVersion: dump.tool.version });
  const sql = scratch.family === 'postgres' ? postgresClient(into) : await mysqlClient(into);
  try {
    await sql.drop();
    if (scratch.family === 'postgres' && dump.layout?.kind === 'directory-tar')
      await restoreDirectoryDump(file, into, dump.layout.jobs);
    else if (scratch.family === 'postgres') await restorePostgres(await open(file), into, { noOwner: true });
    else await restoreMysql(await open(file), into, dump.compression, dump.tool);
    const restored = await sql.counts(Object.keys(dump.rowCounts));
    const differences = Object.entries(dump.rowCounts)
      .filter(([table, rows]) => restored[table] !== rows)
      .map(([table, rows]) => `${table}: ${restored[table] ?? 'missing'} rows restored, ${rows} in the dump`);
    if (differences.length > 0)
      throw new DumpError(
        `restore drill into ${scratch.host}/${database} does not match the dump: ${differences.slice(0, 5).join('; ')}`,
      );
    const rows = Object.values(dump.rowCounts).reduce((a, b) => a + b, 0);
    return { database, tables: Object.keys(dump.rowCounts).length, rows, seconds: (Date.now() - started) / 1000 };
  } finally {
    await sql.drop().catch(() => undefined);
    await sql.close();
  }
}

/** Unpacks the staged tar into a private folder beside it, restores from there, and removes the folder. */
async function restoreDirectoryDump(file: string, into: DatabaseUrl, jobs: number): Promise<void> {
  const work = await createScratch(path.dirname(file), '.drill-');
  try {
    const folder = await unpackDirectoryDump(createReadStream(file), work, path.basename(file));
    await restorePostgres(folder, into, { noOwner: true, jobs });
  } finally {
    await removeScratch(work);
  }
}

interface ScratchClient {
  drop(): Promise<void>;
  counts(tables: string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

function postgresClient(url: DatabaseUrl): ScratchClient {
  const psql = resolveTool(['psql']);
  const env = toolEnvironment({ PGPASSWORD: url.password, PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'stepvault-drill' });
  const base = [
    '--host',
    url.host,
    '--port',
    String(url.port),
    '--username',
    url.user,
    '--no-password',
    '-XAtq',
    '-v',
    'ON_ERROR_STOP=1',
  ];
  const query = async (database: string, statement: string) => {
    try {
      return (
        await run(psql.file, [...psql.prefixArgs, ...base, '--dbname', database, '-c', statement], {
          env,
          maxBuffer: 64 * 1024 * 1024,
        })
      ).stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      if (/could not connect|Connection refused|timeout expired|could not translate host/i.test(stderr))
        throw new ConnectionError(`cannot reach the drill server ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
      throw new DumpError(`restore drill: ${firstErrorLine(stderr)}`);
    }
  };
  return {
    drop: async () => void (await query('postgres', `DROP DATABASE IF EXISTS "${url.database}" WITH (FORCE)`)),
    async counts() {
      // Leaf tables only, named as pg_dump names them in its COPY lines.
      const sql = `SELECT format('%I.%I', n.nspname, c.relname) || E'\\t' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;
      return Object.fromEntries(
        (await query(url.database, sql))
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t'))
          .map(([t, n]) => [t!, Number(n)]),
      );
    },
    close: async () => undefined,
  };
}

async function mysqlClient(url: DatabaseUrl): Promise<ScratchClient> {
  const { client, args, close } = await mysqlConnection(url);
  const base = [...args, '-N', '-B'];
  const query = async (statement: string) => {
    try {
      return (
        await run(client.file, [...client.prefixArgs, ...base, '-e', statement], {
          env: toolEnvironment({}),
          maxBuffer: 64 * 1024 * 1024,
        })
      ).stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      if (/\b(2002|2003|2005)\b|Can't connect/.test(stderr))
        throw new ConnectionError(`cannot reach the drill server ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
      throw new DumpError(`restore drill: ${firstErrorLine(stderr)}`);
    }
  };
  const quoted = (name: string) => `\`${name.replace(/`/g, '``')}\``;
  return {
    drop: async () => void (await query(`DROP DATABASE IF EXISTS ${quoted(url.database)}`)),
    async counts(tables) {
      if (tables.length === 0) return {};
      const sql = tables
        .map(
          (t) =>
            `SELECT ${`'${t.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`}, COUNT(*) FROM ${quoted(url.database)}.${quoted(t)}`,
        )
        .join(' UNION ALL ');
      return Object.fromEntries(
        (await query(sql))
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split('\t'))
          .map(([t, n]) => [t!, Number(n)]),
      );
    },
    close,
  };
}
