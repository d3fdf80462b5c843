/**
 * Parallel PostgreSQL dumps (dump.jobs above 1): `pg_dump --format=directory --jobs=N` writes one
 * file per table at once into a private scratch folder on local disk (efs: inside the run's
 * staging folder; fargate: the task's ephemeral storage). The folder is then stored as ONE object,
 * a tar of it, hashed and counted as it passes, into the staging file or a destination's stream,
 * exactly as a single-stream dump is; each table's file goes into the tar as soon as pg_dump has
 * written it. Once pg_dump has ended, pg_restore reads the folder itself: its table of contents,
 * and every data block end to end with the rows counted; a dump it cannot read is refused before
 * it is published. The scratch folder is removed in every outcome.
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
import { type ArchiveCheck, startArchiveCheck } from './pg-archive-check.ts';
import { FinishedFiles, finishedDataItem, isProgressLine } from './pg-finished-files.ts';
import { createScratch, removeScratch } from '../tools/scratch.ts';
import { classifyPgDumpFailure, parsePgToolVersion, pgDumpArgs, pgEnvironment } from './postgres.ts';
import { pgCompressArgs, pgDumpCompression } from './postgres-compression.ts';
import { pgMajor } from '../tools/pg-version.ts';
import { boundedCounts, type RowCounts } from './row-counts.ts';
import { storeFolderAsTar } from './folder-tar.ts';
import { ArchivedFileChanged } from '../streams/tar.ts';
import type { DumpOutput, DumpRequest, DumpSink, StagingDumper } from './types.ts';

/**
 * pg_dump's arguments for a parallel dump into `dir`: the single-stream ones (with the same
 * --compress flag, which pg_dump applies to each file of the folder), in the directory format.
 */
export function pgDirectoryDumpArgs(target: ConnectedTarget, dir: string, compressArgs: readonly string[]): string[] {
  return [
    ...pgDumpArgs(target, compressArgs, 'directory'),
    `--jobs=${target.dump.jobs ?? 1}`,
    // For its "finished item" lines: each table's file is stored as soon as it is whole.
    '--verbose',
    `--file=${dir}`,
  ];
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
    // The tar stores each table's data file as pg_dump finishes it; the check reads the folder once
    // pg_dump has ended (it needs toc.dat, written last) while the tar stores what remains.
    const files = new FinishedFiles(dir);
    const dump = startPgDump(pgDump, pgDirectoryDumpArgs(target, dir, compressArgs), request, version, scratchParent, {
      onFinished: (id) => files.finished(id),
    });
    const dumped = dump.done.then(
      () => files.end(),
      (error: unknown) => {
        files.fail(error);
        throw error;
      },
    );
    let check: ArchiveCheck | undefined;
    const checked = dumped.then(() => {
      check = startArchiveCheck(pgRestore, target, { directory: dir, workers: target.dump.jobs ?? 1 });
      return check.result();
    });
    // Both are awaited below; until then a failure must not count as unhandled.
    checked.catch(() => undefined);
    try {
      let header: { serverVersion?: string; rowCounts?: RowCounts } | undefined;
      const stored = await storeFolderAsTar(
        scratch,
        DIRECTORY_IN_TAR,
        sink,
        request,
        async () => {
          header = await checked;
          const changed = await files.changedSinceStored();
          if (changed) throw new DumpError(notWhatWasStored(target.name, changed));
        },
        files.entries(DIRECTORY_IN_TAR),
      );
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
    } catch (error) {
      // Storing failed (a full disk, a destination gone) or the dump did: pg_dump must not go on,
      // and its own failure, when it failed, is what the tar only saw the consequence of.
      const stoppedHere = dump.stop();
      const dumpFailure = await dumped.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      const grown = changedWhileArchived(error);
      if (grown)
        throw new DumpError(
          notWhatWasStored(target.name, `${path.basename(grown.file)} changed size while it was stored`),
        );
      throw stoppedHere ? error : (dumpFailure ?? error);
    } finally {
      check?.stop();
    }
  } finally {
    await removeScratch(scratch);
  }
}

/** Why a parallel dump is refused when a file went into the tar before it was whole. */
function notWhatWasStored(targetName: string, what: string): string {
  return `the dump of ${targetName} is not what was stored: ${what}, as if pg_dump had said it was finished before it was (a table name holding a newline can seem to say so); nothing was published`;
}

/** The tar's complaint of a file that changed as it was read, wherever a writer wrapped it. */
function changedWhileArchived(error: unknown): ArchivedFileChanged | undefined {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof ArchivedFileChanged) return e;
  return undefined;
}

/** A running pg_dump: `done` settles with its end (rejected with the error its exit calls for). */
interface RunningDump {
  done: Promise<void>;
  /** Stops pg_dump if it still runs; whether it did (its failure is then this stop's doing). */
  stop(): boolean;
}

/**
 * Starts pg_dump --verbose. Its progress lines go to `onFinished` (the finished data files) and
 * no further: what is kept of its standard error for a failure's message is everything else.
 */
function startPgDump(
  tool: ToolCommand,
  args: string[],
  request: Omit<DumpRequest, 'file'>,
  version: string,
  scratchParent: string,
  progress: { onFinished(dumpId: string): void },
): RunningDump {
  const { target } = request;
  const child = trackTool(
    spawn(tool.file, [...tool.prefixArgs, ...args], {
      env: toolEnvironment(pgEnvironment(target, request.password)),
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
    tool.name,
  );
  let stderr = '';
  // The last lines whatever they say: an old pg_dump's error without a level still gets told.
  let last = '';
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const id = finishedDataItem(line);
      if (id !== undefined) progress.onFinished(id);
      else if (!isProgressLine(line) && stderr.length < 65_536) stderr += `${line}\n`;
      last = `${last}${line}\n`.slice(-4096);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  const done = exited.then(({ code, signal }) => {
    stderr += partial;
    if (!stderr.trim()) stderr = last + partial;
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
  });
  return {
    done,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      child.kill('SIGTERM');
      return true;
    },
  };
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
