import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TarEntry } from '../streams/tar.ts';
import { FinishedFiles, finishedDataItem, isProgressLine } from './pg-finished-files.ts';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function folder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-finished-'));
  folders.push(dir);
  return dir;
}

/** Reads entries one at a time; a read that finds none within a moment stays pending for the next call. */
function reader(iterable: AsyncIterable<TarEntry>): () => Promise<string> {
  const iterator = iterable[Symbol.asyncIterator]();
  let pending: Promise<string> | undefined;
  return async () => {
    pending ??= iterator.next().then((r) => (r.done ? '(done)' : r.value.name));
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('(waiting)'), 100));
    const name = await Promise.race([pending, timeout]);
    if (name !== '(waiting)') pending = undefined;
    return name;
  };
}

describe('pg_dump --verbose lines', () => {
  it('a finished table data item gives its dump id; other items and lines give none', () => {
    expect(finishedDataItem('pg_dump: finished item 3369 TABLE DATA documents')).toBe('3369');
    expect(finishedDataItem('pg_dump: finished item 3369 TABLE DATA -x\nnewline')).toBe('3369');
    expect(finishedDataItem('pg_dump: finished item 3380 SEQUENCE SET s')).toBeUndefined();
    expect(finishedDataItem('pg_dump: processing item 3369 TABLE DATA documents')).toBeUndefined();
    expect(finishedDataItem('pg_dump: error: finished item 1 TABLE DATA t')).toBeUndefined();
  });

  it('progress is told from what a failure must report, even for a table named failed_jobs', () => {
    expect(isProgressLine('pg_dump: dumping contents of table "public.failed_jobs"')).toBe(true);
    expect(isProgressLine('pg_dump: reading schemas')).toBe(true);
    expect(isProgressLine('pg_dump: error: query failed: ERROR:  permission denied for table secret')).toBe(false);
    expect(isProgressLine('pg_dump: warning: there are circular foreign-key constraints')).toBe(false);
    expect(isProgressLine('pg_dump: detail: Query was: LOCK TABLE public.secret')).toBe(false);
    expect(isProgressLine('pg_dump: hint: try --no-sync')).toBe(false);
    expect(isProgressLine('pg_dump: [archiver (db)] query failed: ERROR:  permission denied')).toBe(false);
    expect(isProgressLine('ERROR:  canceling statement due to conflict with recovery')).toBe(false);
  });
});

describe('the files of a parallel dump, as pg_dump finishes them', () => {
  it('gives the folder, each finished data file at once, and the rest of the folder after the end', async () => {
    const dir = await folder();
    const files = new FinishedFiles(dir);
    const next = reader(files.entries('pg-dump'));
    expect(await next()).toBe('pg-dump');
    expect(await next()).toBe('(waiting)');

    await writeFile(path.join(dir, '3370.dat.zst'), 'seventy');
    files.finished('3370');
    // A table without a data file of its own, and a second report of one already given.
    files.finished('9999');
    files.finished('3370');
    await writeFile(path.join(dir, '3368.dat.gz'), 'sixty-eight');
    files.finished('3368');
    expect(await next()).toBe('pg-dump/3370.dat.zst');
    expect(await next()).toBe('pg-dump/3368.dat.gz');
    expect(await next()).toBe('(waiting)');

    await writeFile(path.join(dir, 'blobs_3400.toc'), 'blobs');
    await writeFile(path.join(dir, 'toc.dat'), 'toc');
    files.end();
    const rest: string[] = [];
    for (let name = await next(); name !== '(done)'; name = await next()) rest.push(name);
    expect(rest).toEqual(['pg-dump/blobs_3400.toc', 'pg-dump/toc.dat']);
  });

  it('a stored data file carries its size and mode, as the folder’s walk would give it', async () => {
    const dir = await folder();
    await writeFile(path.join(dir, '7.dat'), 'COPY text\n', { mode: 0o640 });
    const files = new FinishedFiles(dir);
    files.finished('7');
    files.end();
    const all: TarEntry[] = [];
    for await (const entry of files.entries('d')) all.push(entry);
    expect(all).toEqual([
      { name: 'd', type: 'directory', mode: 0o700, uid: 0, gid: 0 },
      { name: 'd/7.dat', type: 'file', mode: 0o640, uid: 0, gid: 0, source: path.join(dir, '7.dat'), size: 10 },
    ]);
  });

  it('names a file stored early that changed afterwards (a table name that fakes a finished line)', async () => {
    const dir = await folder();
    await writeFile(path.join(dir, '3368.dat.zst'), 'first half');
    await writeFile(path.join(dir, '3369.dat.zst'), 'whole');
    const files = new FinishedFiles(dir);
    // What pg_dump prints for a table named "x\npg_dump: finished item 3368 TABLE DATA y".
    for (const line of 'pg_dump: finished item 3369 TABLE DATA x\npg_dump: finished item 3368 TABLE DATA y'.split('\n'))
      files.finished(finishedDataItem(line)!);
    files.end();
    const names: string[] = [];
    for await (const entry of files.entries('d')) names.push(entry.name);
    expect(names).toEqual(['d', 'd/3369.dat.zst', 'd/3368.dat.zst']);
    expect(await files.changedSinceStored()).toBeUndefined();

    await appendFile(path.join(dir, '3368.dat.zst'), ' and the second');
    expect(await files.changedSinceStored()).toBe('3368.dat.zst changed after it was stored (10 bytes then, 25 now)');
    await rm(path.join(dir, '3368.dat.zst'));
    expect(await files.changedSinceStored()).toBe('3368.dat.zst changed after it was stored (10 bytes then, gone now)');
  });

  it('ends the tar with pg_dump’s failure, whether it waits for the next file or not', async () => {
    const dir = await folder();
    const failure = new Error('pg_dump: error: connection lost');
    const waiting = new FinishedFiles(dir);
    const entries = waiting.entries('pg-dump')[Symbol.asyncIterator]();
    expect((await entries.next()).value?.name).toBe('pg-dump');
    const pending = entries.next();
    waiting.fail(failure);
    await expect(pending).rejects.toBe(failure);

    await writeFile(path.join(dir, '1.dat.zst'), 'one');
    const early = new FinishedFiles(dir);
    early.finished('1');
    early.fail(failure);
    const names: string[] = [];
    await expect(
      (async () => {
        for await (const entry of early.entries('pg-dump')) names.push(entry.name);
      })(),
    ).rejects.toBe(failure);
    expect(names).toEqual(['pg-dump']);
  });
});
