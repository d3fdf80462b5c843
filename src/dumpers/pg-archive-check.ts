/**
 * The archive check of a PostgreSQL dump: `pg_restore --list` reads its table of contents (the
 * server's version, the entries), and `pg_restore --data-only` reads every data block to the end,
 * which proves the archive whole, not just its header; the rows it holds are counted on the way
 * when the restore drill needs them. Both read the dump as it is written (a tee of the stream into
 * their standard input), or, for the directory format, the folder pg_dump wrote, with as many data
 * passes as the dump had workers. `result` says what they found once the dump has ended; `stop`
 * ends whatever still runs when it is abandoned.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ConnectedTarget } from '../config/load.ts';
import { DumpError } from '../errors.ts';
import type { TeeStream } from '../streams/tee.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import type { ToolCommand } from '../tools/resolver.ts';
import { trackTool } from '../tools/running.ts';
import { incompleteStream } from './compressed-end.ts';
import { pgDataPass } from './pg-data-pass.ts';
import { dumpIdOfDataFile, splitDataEntries } from './pg-data-split.ts';
import { countsRows, type RowCounts } from './row-counts.ts';

/**
 * What the check reads: a copy of the stream, or the folder of a directory-format dump with the
 * number of workers that wrote it (the data pass runs as many pg_restore processes: pg-data-split.ts).
 */
export type ArchiveSource = { tee: TeeStream } | { directory: string; workers?: number };

export interface ArchiveCheck {
  result(): Promise<{ serverVersion?: string; rowCounts?: RowCounts }>;
  stop(): void;
}

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

export function startArchiveCheck(
  pgRestore: ToolCommand,
  target: ConnectedTarget,
  source: ArchiveSource,
): ArchiveCheck {
  const started: Started[] = [];
  let stopped = false;
  const start = (args: string[]): Started => {
    const fromStream = 'tee' in source;
    const child = trackTool(
      spawn(pgRestore.file, [...pgRestore.prefixArgs, ...args, ...(fromStream ? [] : [source.directory])], {
        env: toolEnvironment({}),
        stdio: [fromStream ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      }),
      'pg_restore',
    );
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-8192)));
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (error) => {
        stderr += String(error);
        resolve(null);
      });
      child.once('close', resolve);
    });
    if (fromStream) source.tee.add(child.stdin!);
    const handle = { child, exited, stderr: () => stderr };
    started.push(handle);
    return handle;
  };
  const dataPass = (useList?: string): { data: Started; counts: () => Promise<RowCounts | undefined> } => {
    const pass = pgDataPass(countsRows(target));
    const data = start([...(useList ? [`--use-list=${useList}`] : []), ...pass.args]);
    pass.attach(data.child.stdout!);
    return { data, counts: () => pass.counts() };
  };

  const list = start(['--list']);
  let listing = '';
  list.child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    // A table of contents past 64 MiB is not read further: the header is at its start.
    if (listing.length < 64 * 1024 * 1024) listing += c;
  });
  // One pass starts at once, beside the list (a stream has one reading); a folder read by several
  // passes needs its table of contents first, to share the entries out.
  const shared =
    'directory' in source && (source.workers ?? 1) > 1
      ? { directory: source.directory, workers: source.workers ?? 1 }
      : undefined;
  const single = shared ? undefined : dataPass();

  const incomplete = (stderr: string) =>
    new DumpError(
      `the dump of ${target.name} is incomplete or unreadable (${firstErrorLine(stderr)}); nothing was published`,
    );
  return {
    async result() {
      if ((await list.exited) !== 0) throw incomplete(list.stderr());
      const header = parseArchiveHeader(listing);
      if (header.entries === 0)
        throw new DumpError(`the dump of ${target.name} has an empty table of contents; nothing was published`);
      // pg_restore reads a compressed data file of the folder cut short as a whole one: checked apart.
      const cut = 'directory' in source ? cutDataFile(source.directory) : Promise.resolve(undefined);
      cut.catch(() => undefined); // awaited below, after the passes; not unhandled meanwhile
      const passes = shared
        ? (await useLists(shared.directory, listing, shared.workers)).map((file) => dataPass(file))
        : [single!];
      if (stopped) for (const { data } of passes) data.child.kill('SIGTERM');
      const codes = await Promise.all(passes.map(({ data }) => data.exited));
      const counted = await Promise.all(passes.map(({ counts }) => counts()));
      const failed = codes.findIndex((code) => code !== 0);
      if (failed !== -1) throw incomplete(passes[failed]!.data.stderr());
      const cutShort = await cut;
      if (cutShort) throw incomplete(cutShort);
      const rowCounts = counted.every((c) => c === undefined)
        ? undefined
        : Object.assign({}, ...counted.filter((c) => c !== undefined));
      return { ...(header.serverVersion && { serverVersion: header.serverVersion }), rowCounts };
    },
    stop() {
      stopped = true;
      for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** The first compressed data file of the folder that does not hold its whole stream, and why. */
async function cutDataFile(directory: string): Promise<string | undefined> {
  const files = (await readdir(directory)).filter((name) => /\.dat\.(?:gz|lz4|zst)$/.test(name)).sort();
  const findings = await Promise.all(files.map((name) => incompleteStream(path.join(directory, name))));
  const index = findings.findIndex((finding) => finding !== undefined);
  return index === -1 ? undefined : `${files[index]}: ${findings[index]}`;
}

/** Writes the use-lists of a folder's data passes beside the folder; their paths. */
async function useLists(directory: string, listing: string, workers: number): Promise<string[]> {
  const sizes = new Map<string, number>();
  for (const name of await readdir(directory)) {
    const id = dumpIdOfDataFile(name);
    if (id !== undefined) sizes.set(id, (await stat(path.join(directory, name))).size);
  }
  const lists = splitDataEntries(listing, workers, (id) => sizes.get(id));
  return Promise.all(
    lists.map(async (list, i) => {
      const file = path.join(path.dirname(directory), `.check-${i + 1}-of-${lists.length}.list`);
      await writeFile(file, list, { mode: 0o600 });
      return file;
    }),
  );
}

/** Reads the versions from a `pg_restore --list` header. */
export function parseArchiveHeader(listing: string): { serverVersion?: string; dumpVersion?: string; entries: number } {
  const serverVersion = /Dumped from database version:\s*(\S+)/.exec(listing)?.[1];
  const dumpVersion = /Dumped by pg_dump version:\s*(\S+)/.exec(listing)?.[1];
  const entries = Number(/TOC Entries:\s*(\d+)/.exec(listing)?.[1] ?? 0);
  return { ...(serverVersion && { serverVersion }), ...(dumpVersion && { dumpVersion }), entries };
}
