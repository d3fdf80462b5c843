/**
 * The archive check of a PostgreSQL dump: `pg_restore --list` reads its table of contents (the
 * server's version, the entries), and `pg_restore --data-only` reads every data block to the end,
 * which proves the archive whole, not just its header; the rows it holds are counted on the way
 * when the restore drill needs them. Both read the dump as it is written (a tee of the stream into
 * their standard input), or, for the directory format, the folder pg_dump wrote. `result` says
 * what they found once the dump has ended; `stop` ends whatever still runs when it is abandoned.
 */
import { spawn } from 'node:child_process';
import type { ConnectedTarget } from '../config/load.ts';
import { DumpError } from '../errors.ts';
import type { TeeStream } from '../streams/tee.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import type { ToolCommand } from '../tools/resolver.ts';
import { trackTool } from '../tools/running.ts';
import { pgDataPass } from './pg-data-pass.ts';
import { countsRows, type RowCounts } from './row-counts.ts';

/** What the check reads: a copy of the stream, or the folder of a directory-format dump. */
export type ArchiveSource = { tee: TeeStream } | { directory: string };

export interface ArchiveCheck {
  result(): Promise<{ serverVersion?: string; rowCounts?: RowCounts }>;
  stop(): void;
}

export function startArchiveCheck(
  pgRestore: ToolCommand,
  target: ConnectedTarget,
  source: ArchiveSource,
): ArchiveCheck {
  const start = (args: string[]) => {
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
    return { child, exited, stderr: () => stderr };
  };
  const list = start(['--list']);
  let listing = '';
  list.child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    // A table of contents past 64 MiB is not read further: the header is at its start.
    if (listing.length < 64 * 1024 * 1024) listing += c;
  });
  const pass = pgDataPass(countsRows(target));
  const data = start(pass.args);
  pass.attach(data.child.stdout!);

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
      const code = await data.exited;
      const rowCounts = await pass.counts();
      if (code !== 0) throw incomplete(data.stderr());
      return { ...(header.serverVersion && { serverVersion: header.serverVersion }), rowCounts };
    },
    stop() {
      for (const { child } of [list, data])
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

/** Reads the versions from a `pg_restore --list` header. */
export function parseArchiveHeader(listing: string): { serverVersion?: string; dumpVersion?: string; entries: number } {
  const serverVersion = /Dumped from database version:\s*(\S+)/.exec(listing)?.[1];
  const dumpVersion = /Dumped by pg_dump version:\s*(\S+)/.exec(listing)?.[1];
  const entries = Number(/TOC Entries:\s*(\d+)/.exec(listing)?.[1] ?? 0);
  return { ...(serverVersion && { serverVersion }), ...(dumpVersion && { dumpVersion }), entries };
}
