/**
 * SQL Server: `BACKUP DATABASE … TO DISK` over TDS (the mssql package; no binary needed). The
 * server writes the .bak itself onto a share that is also the staging area: the config maps the
 * share as SQL Server sees it (mssql.sharePath) to the staging folder as stepvault sees it. STATS
 * messages become progress; the file is then checked, hashed and handed on like any other dump.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type sql from 'mssql';
import type { ConnectedTarget } from '../config/load.ts';
import type { MssqlOptions } from '../config/schema.ts';
import { ConfigError, ConnectionError, DumpError } from '../errors.ts';
import { DigestStream } from '../streams/digest.ts';
import { engineInfo } from '../engines/registry.ts';
import type { DumpOutput, DumpRequest, StagingDumper } from './types.ts';

export const MSSQL_DEFAULT_USER = engineInfo('mssql').defaultUser;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A bracket-quoted identifier: `]` doubled; refused when SQL Server could not have such a name. */
export function quoteIdentifier(name: string, what: string): string {
  if (name.length === 0 || name.length > 128 || CONTROL.test(name))
    throw new ConfigError(`${what} "${name}" cannot be a SQL Server name (1-128 characters, no control characters)`);
  return `[${name.replace(/]/g, ']]')}]`;
}

/** A Unicode string literal: `'` doubled. */
export function quoteString(value: string, what: string): string {
  if (CONTROL.test(value)) throw new ConfigError(`${what} contains a control character`);
  return `N'${value.replace(/'/g, "''")}'`;
}

/** Where SQL Server must write a staged file: the share path plus the file's place under staging. */
export function serverPath(file: string, stagingRoot: string, sharePath: string): string {
  const relative = path.relative(stagingRoot, file);
  if (relative.startsWith('..') || path.isAbsolute(relative))
    throw new ConfigError(`${file} is not under the staging folder ${stagingRoot}`);
  const separator = sharePath.includes('\\') || /^[A-Za-z]:/.test(sharePath) ? '\\' : '/';
  return [sharePath.replace(/[\\/]+$/, ''), ...relative.split(path.sep)].join(separator);
}

export function backupStatement(
  database: string,
  disk: string,
  options: Pick<MssqlOptions, 'copyOnly' | 'compression'>,
): string {
  const withOptions = [
    options.copyOnly && 'COPY_ONLY',
    options.compression && 'COMPRESSION',
    'CHECKSUM',
    'STATS = 5',
    'INIT',
    'FORMAT',
  ].filter(Boolean);
  return `BACKUP DATABASE ${quoteIdentifier(database, 'database')} TO DISK = ${quoteString(disk, 'the backup path')} WITH ${withOptions.join(', ')}`;
}

export function verifyStatement(disk: string): string {
  return `RESTORE VERIFYONLY FROM DISK = ${quoteString(disk, 'the backup path')} WITH CHECKSUM`;
}

/** TLS as libpq's sslmode says it, in tedious' words. */
export function tlsOptions(target: ConnectedTarget): { encrypt: boolean; trustServerCertificate: boolean } {
  const mode = target.tls.mode;
  return {
    encrypt: mode !== 'disable',
    trustServerCertificate: mode === 'disable' || mode === 'prefer' || mode === 'require',
  };
}

export function classifyMssqlError(error: unknown, target: ConnectedTarget): Error {
  const e = error as {
    code?: string;
    number?: number;
    message?: string;
    originalError?: { code?: string; message?: string };
    precedingErrors?: { message: string }[];
  };
  const where = `${target.name} (${target.host}:${target.port}/${target.database})`;
  const code = e.code ?? e.originalError?.code;
  // SQL Server says what went wrong first ("Cannot open backup device …") and "terminating
  // abnormally" last; the client keeps the first ones apart.
  const message = [...(e.precedingErrors ?? []).map((p) => p.message), e.message ?? String(error)].join(' ');
  if (code === 'ELOGIN' || e.number === 18456)
    return new ConfigError(`cannot log in to ${where}: ${message}; check user and password for targets.${target.name}`);
  if (
    code === 'ESOCKET' ||
    code === 'ETIMEOUT' ||
    code === 'ECONNCLOSED' ||
    /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|getaddrinfo/.test(message)
  ) {
    return new ConnectionError(`cannot reach SQL Server for target ${where}: ${message}`);
  }
  // The server writes the .bak onto the staging share itself: a full share is its complaint.
  if (
    /insufficient (free )?space|There is not enough space on the disk|Operating system error 112\b|failed: 112\(|No space left on device/i.test(
      message,
    )
  ) {
    return new DumpError(
      `staging is full: SQL Server could not write the backup of ${where} onto the staging share (${message}); give the share more room; nothing was published`,
    );
  }
  return new DumpError(`BACKUP DATABASE of ${where} failed: ${message}`);
}

/** How long a connection may take to open, and a statement (other than BACKUP) to answer. */
export const MSSQL_CONNECT_TIMEOUT_MS = 15_000;
export const MSSQL_REQUEST_TIMEOUT_MS = 60_000;

/**
 * Runs `work` on a connection to the target's server (master database), closing it afterwards.
 * Every statement has a time limit (`requestTimeoutMs`): a server that accepts and never
 * answers must not hold the step until its Lambda is killed.
 */
export async function withConnection<T>(
  target: ConnectedTarget,
  password: string | undefined,
  work: (pool: sql.ConnectionPool) => Promise<T>,
  { requestTimeoutMs = MSSQL_REQUEST_TIMEOUT_MS }: { requestTimeoutMs?: number } = {},
): Promise<T> {
  // Loaded on first use: evaluating the driver (tedious and its Azure identity) at import would
  // add a few hundred ms to every cold start of a function that carries it, SQL Server or not.
  const { default: mssql } = await import('mssql');
  const pool = new mssql.ConnectionPool({
    server: target.host,
    port: target.port,
    user: target.user ?? MSSQL_DEFAULT_USER,
    ...(password !== undefined && { password }),
    database: 'master',
    // A cheap health check: no query of its own between ours.
    validateConnection: 'socket',
    pool: { max: 1, min: 0 },
    connectionTimeout: MSSQL_CONNECT_TIMEOUT_MS,
    requestTimeout: requestTimeoutMs,
    options: { ...tlsOptions(target), appName: 'stepvault' },
  } as sql.config);
  try {
    await pool.connect();
  } catch (error) {
    throw classifyMssqlError(error, target);
  }
  try {
    return await work(pool);
  } catch (error) {
    if (error instanceof DumpError || error instanceof ConfigError) throw error;
    throw classifyMssqlError(error, target);
  } finally {
    await pool.close().catch(() => undefined);
  }
}

export async function serverVersion(pool: sql.ConnectionPool): Promise<string> {
  const result = await pool
    .request()
    .batch<{ version: string }>("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version");
  return result.recordset?.[0]?.version ?? 'unknown';
}

export const mssqlDumper: StagingDumper = {
  writes: 'staging',
  serverWritesFile: true,

  async dump(request: DumpRequest): Promise<DumpOutput> {
    const { target } = request;
    const options = target.mssql!;
    const disk = serverPath(request.file, target.staging, options.sharePath!);
    return withConnection(
      target,
      request.password,
      async (pool) => {
        const version = await serverVersion(pool);
        const backup = pool.request();
        backup.on('info', (info: { message: string }) => {
          const percent = /(\d+) percent processed/.exec(info.message)?.[1];
          if (percent) request.onProgress?.({ percent: Number(percent) });
        });
        try {
          await backup.batch(backupStatement(target.database, disk, options));
          if (options.verifyOnly) await pool.request().batch(verifyStatement(disk));
        } catch (error) {
          if ((error as { code?: string }).code === 'ETIMEOUT') {
            throw new DumpError(
              `BACKUP DATABASE of ${target.name} did not finish within mssql.timeoutMinutes (${options.timeoutMinutes}); raise it, or look at the server`,
            );
          }
          throw error;
        }

        const size = await stat(request.file).then(
          (s) => s.size,
          () => 0,
        );
        if (size === 0) {
          throw new DumpError(
            `SQL Server reported the backup of ${target.name} done, but ${request.file} is missing or empty in staging: mssql.sharePath (${options.sharePath}) must be the staging folder as SQL Server sees it`,
          );
        }
        // SQL Server wrote the file, so it is hashed by reading it once.
        const digest = new DigestStream();
        await pipeline(createReadStream(request.file), digest, new Writable({ write: (_c, _e, done) => done() }));
        return {
          size: digest.bytes,
          sha256: digest.hex(),
          compression: options.compression ? 'mssql-compressed' : 'mssql',
          tool: { name: 'BACKUP DATABASE', version },
          serverVersion: version,
        };
      },
      { requestTimeoutMs: options.timeoutMinutes * 60_000 },
    );
  },
};
