/**
 * PostgreSQL: pg_dump in custom format (compressed, restorable table by table with pg_restore),
 * streamed into the staging file or straight into a destination. A dump counts as complete only
 * when pg_dump exits 0 *and* pg_restore, reading a copy of the bytes as they pass, can read the
 * archive end to end: an exit code alone has been known to lie when a wrapper resolved on the
 * first chunk.
 */
import type { ConnectedTarget } from '../config/load.ts';
import { ConfigError, ConnectionError, DumpError, TransientError, VersionMismatchError } from '../errors.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import { pgConnectionString } from '../tools/pg-conninfo.ts';
import { pgCompressArgs, pgDumpCompression } from './postgres-compression.ts';
import { parsePgToolVersion, pgMajor } from '../tools/pg-version.ts';
import { boundedCounts, type RowCounts } from './row-counts.ts';
import { runDumpTool, type ToolRun } from './stream.ts';
import { startArchiveCheck } from './pg-archive-check.ts';
import { TeeStream } from '../streams/tee.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import { engineInfo } from '../engines/registry.ts';
import type { DumpOutput, DumpRequest, DumpSink, StagingDumper } from './types.ts';

export const PG_DEFAULT_USER = engineInfo('postgres').defaultUser;

/**
 * The target's connection as one `--dbname=` argument (host, port, user, database, TLS mode and CA), for every libpq
 * tool that connects to it: pg_dump, and psql when doctor asks what the dump's user may read.
 */
export function pgTargetDbnameArg(target: ConnectedTarget): string {
  return `--dbname=${pgConnectionString({
    host: target.host,
    port: target.port,
    // Always: on Lambda the process's uid has no passwd entry to take a default user from.
    user: target.user ?? PG_DEFAULT_USER,
    database: target.database,
    sslmode: target.tls.mode,
    ...(target.tls.ca !== undefined && { sslrootcert: target.tls.ca }),
  })}`;
}

/**
 * pg_dump's arguments for a target, with the `--compress` flag pgCompressArgs built for the
 * pg_dump at hand: no secrets here, they travel in the environment. Every
 * value is glued to its option (`--table=…`) and the connection is one quoted connection
 * string, so no configured name can be read as an option or as connection settings. `format` is
 * `directory` for a parallel dump (postgres-directory.ts), which adds its own --jobs and --file.
 */
export function pgDumpArgs(
  target: ConnectedTarget,
  compressArgs: readonly string[],
  format: 'custom' | 'directory' = 'custom',
): string[] {
  const dump = target.dump;
  const args = [
    `--format=${format}`,
    pgTargetDbnameArg(target),
    '--no-password',
    // Large objects are included by default for a whole database, but not with --schema or
    // --table; -b (spelled the same in every version) keeps them in either way.
    '-b',
    ...compressArgs,
  ];
  if (dump.noOwner) args.push('--no-owner');
  for (const s of dump.schemas ?? []) args.push(`--schema=${s}`);
  for (const s of dump.excludeSchemas ?? []) args.push(`--exclude-schema=${s}`);
  for (const t of dump.tables ?? []) args.push(`--table=${t}`);
  for (const t of dump.excludeTables ?? []) args.push(`--exclude-table=${t}`);
  for (const t of dump.excludeTableData ?? []) args.push(`--exclude-table-data=${t}`);
  return args;
}

/** libpq settings by environment: the password never appears in a process's arguments. */
export function pgEnvironment(
  target: ConnectedTarget,
  password: string | undefined,
): Record<string, string | undefined> {
  return {
    PGPASSWORD: password,
    PGSSLMODE: target.tls.mode,
    PGSSLROOTCERT: target.tls.ca,
    PGCONNECT_TIMEOUT: '15',
    PGAPPNAME: 'stepvault',
  };
}

export { parsePgToolVersion } from '../tools/pg-version.ts';

/** Turns pg_dump's complaint into the error the state machine should see. */
export function classifyPgDumpFailure(stderr: string, target: ConnectedTarget, toolVersion: string): Error {
  const where = `${target.name} (${target.host}:${target.port}/${target.database})`;
  const line = firstErrorLine(stderr);
  const mismatch = /server version:\s*([\d.]+\S*);\s*pg_dump version:\s*([\d.]+\S*)/.exec(stderr);
  if (mismatch || /server version mismatch/.test(stderr)) {
    const server = mismatch?.[1] ?? 'newer';
    const tool = mismatch?.[2] ?? toolVersion;
    const major = server.split('.')[0];
    return new VersionMismatchError(
      `pg_dump ${tool} cannot dump the PostgreSQL ${server} server of target ${where}: pg_dump must be as new as the server. ` +
        `Use pg_dump ${major} or newer: deploy the dbtools layer (it ships the newest client), or locally point STEPVAULT_TOOLS_DIR at a built layer or install postgresql-client-${major}.`,
    );
  }
  // TLS refused or unverifiable is the config's business (sslmode, the CA), not the network's.
  if (
    /server does not support SSL|certificate verify failed|root certificate file .* does not exist|server certificate for .* does not match/i.test(
      stderr,
    )
  ) {
    return new ConfigError(
      `cannot open a TLS connection to ${where} (targets.${target.name}.tls.mode is ${target.tls.mode}): ${line}; enable TLS on the server, fix tls.ca, or lower tls.mode`,
    );
  }
  if (/permission denied for/.test(stderr)) {
    return new ConfigError(
      `user ${target.user ?? PG_DEFAULT_USER} of target ${where} may not read everything the dump needs: ${line}; grant it read access (e.g. the pg_read_all_data role) — see "Grants" in the README`,
    );
  }
  if (
    /password authentication failed|no password supplied|pg_hba\.conf rejects|role "[^"]*" does not exist/.test(stderr)
  ) {
    return new ConfigError(`cannot log in to ${where}: ${line}; check user and password for targets.${target.name}`);
  }
  if (/database "[^"]*" does not exist/.test(stderr)) {
    return new ConfigError(`${line}; check targets.${target.name}.database`);
  }
  // A parallel dump's workers import the leader's snapshot: when the leader's session is gone
  // (its server stopped under it), a worker's import fails. The next attempt finds out why.
  if (
    /lock timeout|could not obtain lock|deadlock detected|canceling statement|invalid snapshot identifier/.test(stderr)
  ) {
    return new TransientError(`pg_dump of ${where} was interrupted: ${line}`);
  }
  if (
    /could not connect|connection to server .* failed|Connection refused|could not translate host name|timeout expired|server closed the connection|the database system is (starting up|shutting down)|too many (clients|connections)|Network is unreachable|No route to host/i.test(
      stderr,
    )
  ) {
    return new ConnectionError(`cannot reach PostgreSQL for target ${where}: ${line}`);
  }
  return new DumpError(`pg_dump of ${where} failed: ${line}`);
}

/** One dump, into a staging file or a stream: the same tool, the same checks. */
async function dumpPostgres(request: Omit<DumpRequest, 'file'>, sink: DumpSink): Promise<DumpOutput> {
  const { target } = request;
  const pgDump = resolveTool(['pg_dump']);
  const pgRestore = resolveTool(['pg_restore']);
  const version = parsePgToolVersion(await toolVersionLine(pgDump));
  const { compression, note } = pgDumpCompression(target, version);
  if (note) request.onWarning?.(note);

  const tee = new TeeStream();
  let archive: ReturnType<typeof startArchiveCheck> | undefined;
  let header: { serverVersion?: string; rowCounts?: RowCounts } | undefined;
  let run: ToolRun;
  try {
    run = await runDumpTool({
      tool: pgDump,
      args: pgDumpArgs(target, pgCompressArgs(compression, pgMajor(version))),
      env: toolEnvironment(pgEnvironment(target, request.password)),
      sink,
      tee,
      ...(request.encryption && { encryption: request.encryption }),
      onStarted: () => {
        archive = startArchiveCheck(pgRestore, target, { tee });
      },
      ...(request.onProgress && { onProgress: request.onProgress }),
      async check(finished) {
        if (finished.signal)
          throw new DumpError(
            `pg_dump of ${target.name} was killed by ${finished.signal} (out of memory or timeout?); nothing was published`,
          );
        if (finished.exitCode !== 0) throw classifyPgDumpFailure(finished.stderr, target, version);
        header = await archive!.result();
      },
    });
  } finally {
    archive?.stop();
  }
  const rowCounts = boundedCounts(header!.rowCounts);
  return {
    ...(rowCounts && { rowCounts }),
    size: run.size,
    sha256: run.sha256,
    ...(run.encryption && { encryption: run.encryption }),
    compression: compression.method,
    ...(compression.level !== undefined && { compressionLevel: compression.level }),
    tool: { name: 'pg_dump', version },
    serverVersion: header!.serverVersion ?? 'unknown',
  };
}

export const postgresDumper: StagingDumper = {
  writes: 'staging',
  dump: (request) => dumpPostgres(request, { file: request.file }),
  dumpInto: (request) => dumpPostgres(request, { stream: request.sink }),
};
