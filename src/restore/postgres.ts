/**
 * Restores a custom-format dump with pg_restore, creating the database when it is missing.
 *
 * pg_dump 18 writes `SET transaction_timeout = 0;` into every archive; a server older than 17
 * does not know that setting, so pg_restore reports one error for it and goes on. That one error
 * is harmless and expected; any other error fails the restore.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toolEnvironment, firstErrorLine } from '../dumpers/child-env.ts';
import { resolveTool } from '../dumpers/tools.ts';
import { ConnectionError, DumpError } from '../errors.ts';
import type { DatabaseUrl } from './url.ts';

const run = promisify(execFile);

export interface PostgresRestoreOptions {
  clean?: boolean;
  jobs?: number;
  noOwner?: boolean;
}

export function pgRestoreArgs(url: DatabaseUrl, file: string, options: PostgresRestoreOptions): string[] {
  return [
    '--host', url.host, '--port', String(url.port), '--username', url.user, '--dbname', url.database, '--no-password',
    ...(options.clean ? ['--clean', '--if-exists'] : []),
    ...(options.jobs && options.jobs > 1 ? ['--jobs', String(options.jobs)] : []),
    ...(options.noOwner ? ['--no-owner', '--no-acl'] : []),
    file,
  ];
}

/** pg_restore's errors, less the one a pg_dump 18 archive causes on an older server. */
export function unexpectedRestoreErrors(stderr: string): string[] {
  const blocks = stderr.split(/\n(?=pg_restore: )/);
  return blocks.filter((b) => /^pg_restore: error:/.test(b) && !/transaction_timeout/.test(b)).map((b) => b.split('\n')[0]!);
}

export async function restorePostgres(file: string, url: DatabaseUrl, options: PostgresRestoreOptions): Promise<{ warnings: string[] }> {
  const env = toolEnvironment({ PGPASSWORD: url.password, PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'stepvault-restore' });
  const psql = resolveTool(['psql']);
  const connection = ['--host', url.host, '--port', String(url.port), '--username', url.user, '--no-password', '-XAtq', '-v', 'ON_ERROR_STOP=1'];
  const literal = `'${url.database.replace(/'/g, "''")}'`;
  const identifier = `"${url.database.replace(/"/g, '""')}"`;
  try {
    const { stdout } = await run(psql.file, [...psql.prefixArgs, ...connection, '--dbname', 'postgres', '-c', `SELECT 1 FROM pg_database WHERE datname = ${literal}`], { env });
    if (stdout.trim() !== '1') await run(psql.file, [...psql.prefixArgs, ...connection, '--dbname', 'postgres', '-c', `CREATE DATABASE ${identifier}`], { env });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    if (/could not connect|Connection refused|timeout expired|could not translate host/i.test(stderr)) throw new ConnectionError(`cannot reach ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
    throw new DumpError(`cannot prepare database ${url.database}: ${firstErrorLine(stderr)}`);
  }
  const pgRestore = resolveTool(['pg_restore']);
  try {
    await run(pgRestore.file, [...pgRestore.prefixArgs, ...pgRestoreArgs(url, file, options)], { env, maxBuffer: 64 * 1024 * 1024 });
    return { warnings: [] };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    const unexpected = unexpectedRestoreErrors(stderr);
    if (unexpected.length === 0 && /transaction_timeout/.test(stderr)) {
      return { warnings: ['the server does not know transaction_timeout (a PostgreSQL 17+ setting pg_dump 18 writes); that one statement was skipped, as it should be'] };
    }
    throw new DumpError(`pg_restore into ${url.database} failed: ${unexpected.slice(0, 5).join('; ') || firstErrorLine(stderr)}`);
  }
}
