/**
 * Parallel PostgreSQL dumps (dump.jobs above 1): `pg_dump --format=directory --jobs=N` writes one
 * file per table at once into a private scratch folder on local disk (efs: inside the run's
 * staging folder; fargate: the task's ephemeral storage). The folder is then stored as ONE object,
 * a tar of it, hashed and counted as it passes, into the staging file or a destination's stream,
 * exactly as a single-stream dump is. While the tar is written, pg_restore reads the folder
 * itself: its table of contents, and every data block end to end with the rows counted; a dump it
 * cannot read is refused before it is published. The scratch folder is removed in every outcome.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectedTarget } from '../config/load.ts';
import { DIRECTORY_IN_TAR } from '../contracts.ts';
import { ConfigError, DumpError } from '../errors.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import { resolveTool, toolVersionLine, type ToolCommand } from '../tools/resolver.ts';
import { trackTool } from '../tools/running.ts';
import { startArchiveCheck } from './pg-archive-check.ts';
import { createScratch, removeScratch } from '../tools/scratch.ts';
import { classifyPgDumpFailure, parsePgToolVersion, pgDumpArgs, pgEnvironment } from './postgres.ts';
import { pgCompressArgs, pgDumpCompression } from './postgres-compression.ts';
import { pgMajor } from '../tools/pg-version.ts';
import { boundedCounts, type RowCounts } from './row-counts.ts';
import { storeFolderAsTar } from './folder-tar.ts';
import type { DumpOutput, DumpRequest, DumpSink, StagingDumper } from './types.ts';

/**
 * pg_dump's arguments for a parallel dump into `dir`: the single-stream ones (with the same
 * --compress flag, which pg_dump applies to each file of the folder), in the directory format.
 */
export function pgDirectoryDumpArgs(target: ConnectedTarget, dir: string, compressArgs: readonly string[]): string[] {
  return [...pgDumpArgs(target, compressArgs, 'directory'), `--jobs=${target.dump.jobs ?? 1}`, `--file=${dir}`];
}

/** One parallel dump; `scratchParent` is the local disk its folder goes on. */
export async function dumpPostgresDirectory(
  request: Omit<DumpRequest, 'file'>,
  sink: DumpSink,
  scratchParent: string,
): Promise<DumpOutput> {
  const { target } = request;
  // The schema refuses this pairing; never write a plaintext folder if it is bypassed.
  if (request.encryption)
    throw new ConfigError(
      `targets.${target.name}: dump.jobs > 1 writes pg_dump's folder unencrypted before it is stored; set dump.jobs: 1 to encrypt`,
    );
  const pgDump = resolveTool(['pg_dump']);
  const pgRestore = resolveTool(['pg_restore']);
  const version = parsePgToolVersion(await toolVersionLine(pgDump));
  const scratch = await createScratch(scratchParent, '.pg-directory-');
  try {
    const dir = path.join(scratch, DIRECTORY_IN_TAR);
    const { compression, note } = pgDumpCompression(target, version);
    if (note) request.onWarning?.(note);
    const compressArgs = pgCompressArgs(compression, pgMajor(version));
    await runPgDump(pgDump, pgDirectoryDumpArgs(target, dir, compressArgs), request, version, scratchParent);
    const check = startArchiveCheck(pgRestore, target, { directory: dir, workers: target.dump.jobs ?? 1 });
    try {
      let header: { serverVersion?: string; rowCounts?: RowCounts } | undefined;
      const stored = await storeFolderAsTar(scratch, DIRECTORY_IN_TAR, sink, request, async () => {
        header = await check.result();
      });
      if (!header) throw new DumpError('the dump was stored without being checked; it is not a backup');
      const rowCounts = boundedCounts(header.rowCounts);
      return {
        ...(rowCounts && { rowCounts }),
        size: stored.size,
        sha256: stored.sha256,
        // pg_dump compresses each file of the folder itself, as it does the custom format.
        compression: 'directory',
        layout: { kind: 'directory-tar', jobs: target.dump.jobs ?? 1 },
        tool: { name: 'pg_dump', version },
        serverVersion: header.serverVersion ?? 'unknown',
      };
    } finally {
      check.stop();
    }
  } finally {
    await removeScratch(scratch);
  }
}

/** Runs pg_dump to its end; throws the error its exit calls for. */
async function runPgDump(
  tool: ToolCommand,
  args: string[],
  request: Omit<DumpRequest, 'file'>,
  version: string,
  scratchParent: string,
): Promise<void> {
  const { target } = request;
  const child = trackTool(
    spawn(tool.file, [...tool.prefixArgs, ...args], {
      env: toolEnvironment(pgEnvironment(target, request.password)),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
    tool.name,
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 65_536) stderr += chunk;
  });
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    },
  );
  if (signal)
    throw new DumpError(
      `pg_dump of ${target.name} was killed by ${signal} (out of memory or timeout?); nothing was published`,
    );
  if (code === 0) return;
  if (/No space left on device|Disk quota exceeded/.test(stderr))
    throw new DumpError(
      `no space left in ${scratchParent} for pg_dump's directory of ${target.name} (${firstErrorLine(stderr)}); a parallel dump needs room for the whole dump on local disk: give the staging area (efs) or the task's ephemeral storage (fargate) more, or set dump.jobs: 1; nothing was published`,
    );
  throw classifyPgDumpFailure(stderr, target, version);
}

/**
 * The dumper of a target with dump.jobs above 1. Into staging (efs), the folder goes beside the
 * staged file, in the run's own staging folder; streamed (fargate), into the system's temporary
 * folder, which is the task's ephemeral storage.
 */
export const postgresDirectoryDumper: StagingDumper = {
  writes: 'staging',
  dump: (request) => dumpPostgresDirectory(request, { file: request.file }, path.dirname(request.file)),
  dumpInto: (request) => dumpPostgresDirectory(request, { stream: request.sink }, tmpdir()),
};
