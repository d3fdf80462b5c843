/**
 * The files of a parallel dump's folder in the order pg_dump finishes them, so that the tar can
 * store each table's data while the other tables are still being dumped. Stored after the dump,
 * the tar and its hash of the 1 GiB benchmark's 134 MB took 0.3 s of the 0.43 s between pg_dump's
 * end and a checked dump, time a single-stream dump spends during the dump.
 *
 * With --verbose, pg_dump's leader says `finished item <id> TABLE DATA <table>` once the worker
 * that wrote the table's data file (<id>.dat, .dat.gz, .dat.lz4 or .dat.zst) has closed it;
 * nothing writes that file again. Everything else (toc.dat, written last, and the large objects'
 * files) is stored once pg_dump has ended, in the folder's order.
 *
 * pg_dump writes a table's name in that line as it is, and a name may hold a newline: a table
 * called `x<newline>pg_dump: finished item 3368 TABLE DATA y` would have the tar store file 3368
 * before it is whole. So what was stored early is checked again once pg_dump has ended (size and
 * modification time): a file that changed after it went into the tar refuses the dump.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { type TarEntry, walk } from '../streams/tar.ts';
import { DATA_FILE_ENDINGS } from './pg-data-split.ts';

/** A line of pg_dump --verbose for a data file written whole. */
const FINISHED_ITEM = /^pg_dump: finished item (\d+) TABLE DATA /;

/** The dump id of the data file a line of pg_dump's standard error says is finished, if it says so. */
export function finishedDataItem(line: string): string | undefined {
  return FINISHED_ITEM.exec(line)?.[1];
}

/**
 * Whether a line of pg_dump's standard error only reports progress (--verbose): every other line
 * of pg_dump 12 and later starts with its level (`error:`, `warning:`, `detail:`, `hint:`), and
 * older ones' errors with `[archiver]` and the like. Progress names tables, and a table called
 * `failed_jobs` must not become a failure's message.
 */
export function isProgressLine(line: string): boolean {
  return /^pg_dump: (?!error:|warning:|detail:|hint:|\[)/.test(line);
}

export class FinishedFiles {
  private readonly ids: string[] = [];
  /** The data files stored before pg_dump ended, as they were when stored. */
  private readonly early: { name: string; source: string; size: number; mtimeMs: number }[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private readonly dir: string;

  /** `dir` is the folder pg_dump writes. */
  constructor(dir: string) {
    this.dir = dir;
  }

  /** pg_dump finished the data file of this dump id. */
  finished(dumpId: string): void {
    this.ids.push(dumpId);
    this.notify();
  }

  /** pg_dump has ended well: the rest of the folder is whole. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** pg_dump failed: the tar must not be finished. */
  fail(error: unknown): void {
    this.failure = error ?? new Error('pg_dump failed');
    this.notify();
  }

  /** The folder's entry, the finished data files as they come, then the rest; all under `folder/`. */
  async *entries(folder: string): AsyncGenerator<TarEntry> {
    yield { name: folder, type: 'directory', mode: 0o700, uid: 0, gid: 0 };
    const stored = new Set<string>();
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const id = this.ids.shift();
      if (id !== undefined) {
        const file = await this.dataFile(id);
        if (file && !stored.has(file.entry.name)) {
          const { name, source, size } = file.entry;
          stored.add(name);
          this.early.push({ name, source, size, mtimeMs: file.mtimeMs });
          yield { ...file.entry, name: `${folder}/${name}` };
        }
        continue;
      }
      if (this.ended) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    for await (const entry of walk(this.dir)) {
      if (this.failure !== undefined) throw this.failure;
      if (!stored.has(entry.name)) yield { ...entry, name: `${folder}/${entry.name}` };
    }
  }

  /**
   * Why a data file stored before pg_dump ended is not what was stored (it changed since), or
   * undefined when none is; to be asked once pg_dump has ended.
   */
  async changedSinceStored(): Promise<string | undefined> {
    for (const file of this.early) {
      const now = await lstat(file.source).catch(() => undefined);
      if (now?.size !== file.size || now.mtimeMs !== file.mtimeMs)
        return `${file.name} changed after it was stored (${file.size} bytes then, ${now ? `${now.size} now` : 'gone now'})`;
    }
    return undefined;
  }

  /** The data file of a dump id as the folder's walk would give it, and when it was written; none if it has none. */
  private async dataFile(
    dumpId: string,
  ): Promise<{ entry: TarEntry & { source: string; size: number }; mtimeMs: number } | undefined> {
    for (const ending of DATA_FILE_ENDINGS) {
      const name = `${dumpId}${ending}`;
      const source = path.join(this.dir, name);
      const stats = await lstat(source).catch(() => undefined);
      if (stats?.isFile()) {
        const mode = stats.mode & 0o1777;
        return {
          entry: { name, type: 'file', mode, uid: 0, gid: 0, source, size: stats.size },
          mtimeMs: stats.mtimeMs,
        };
      }
    }
    return undefined;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
