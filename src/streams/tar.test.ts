import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchivedFileChanged, tarStream, walk, type TarEntry } from './tar.ts';
import { untar } from './untar.ts';

const run = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'stepvault-tar-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const LONG_DIR = `${'d'.repeat(120)}/${'e'.repeat(90)}`;
const LONG_FILE = `${'f'.repeat(99)}.dat`;

/** A folder with what the writer must get right: odd sizes, an empty file, nesting, names past ustar's fields. */
async function sampleFolder(name: string): Promise<string> {
  const root = path.join(work, name);
  await mkdir(path.join(root, LONG_DIR), { recursive: true });
  await writeFile(path.join(root, 'toc.dat'), Buffer.from('table of contents\n'));
  await writeFile(path.join(root, 'empty.dat'), Buffer.alloc(0));
  await writeFile(path.join(root, 'block.dat'), Buffer.alloc(512, 7));
  await writeFile(path.join(root, '3001.dat.gz'), Buffer.from(Array.from({ length: 70_001 }, (_, i) => i % 251)));
  await writeFile(path.join(root, LONG_DIR, LONG_FILE), Buffer.from('deep and long\n'));
  return root;
}

async function filesUnder(root: string): Promise<Record<string, string>> {
  const names = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  const entries = await Promise.all(
    names.map(async (e) => {
      const file = path.join(e.parentPath, e.name);
      return [path.relative(root, file), (await readFile(file)).toString('base64')] as const;
    }),
  );
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

async function writeTar(entries: AsyncIterable<TarEntry>, file: string): Promise<void> {
  await pipeline(Readable.from(tarStream(entries, 1_700_000_000)), createWriteStream(file));
}

describe('tarStream', () => {
  it('writes an archive the tar command lists and unpacks to the same files, long names and all', async () => {
    const root = await sampleFolder('written');
    const archive = path.join(work, 'written.tar');
    await writeTar(walk(root), archive);

    const listed = (await run('tar', ['-tf', archive])).stdout.trim().split('\n').sort();
    expect(listed).toContain(`${LONG_DIR}/${LONG_FILE}`);
    expect(listed).toContain('toc.dat');
    const out = path.join(work, 'written-by-tar');
    await mkdir(out);
    await run('tar', ['-xf', archive, '-C', out]);
    expect(await filesUnder(out)).toEqual(await filesUnder(root));
    expect((await readFile(archive)).length % 512).toBe(0);
  });

  it('carries the size of a file of 8 GiB or more in a PAX record, which ustar cannot hold', async () => {
    const huge = 9 * 1024 ** 3;
    const blocks = tarStream(
      (async function* () {
        yield { name: 'big.dat', type: 'file', mode: 0o600, uid: 0, gid: 0, size: huge } satisfies TarEntry;
      })(),
      0,
    );
    const paxHeader = (await blocks.next()).value as Buffer;
    const paxBody = (await blocks.next()).value as Buffer;
    const header = (await blocks.next()).value as Buffer;
    expect(String.fromCharCode(paxHeader[156]!)).toBe('x');
    expect(paxBody.toString('utf8')).toContain(`size=${huge}\n`);
    expect(header.subarray(124, 135).toString('ascii')).toBe('00000000000');
  });
});

describe('untar', () => {
  for (const format of ['ustar', 'pax', 'gnu']) {
    it(`unpacks what the tar command writes (--format=${format}) as the tar command does`, async () => {
      const root = await sampleFolder(`source-${format}`);
      const archive = path.join(work, `${format}.tar`);
      // GNU's own format writes long names as ././@LongLink entries, which a dump never holds: ustar
      // and pax are the formats to read; gnu without long names must work all the same.
      if (format !== 'pax') await rm(path.join(root, 'd'.repeat(120)), { recursive: true });
      // ustar holds a long name split at a slash: up to 155 bytes before it, 100 after.
      if (format === 'ustar') {
        await mkdir(path.join(root, 'p'.repeat(80), 'q'.repeat(60)), { recursive: true });
        await writeFile(path.join(root, 'p'.repeat(80), 'q'.repeat(60), 'r'.repeat(90)), 'split name\n');
      }
      await run('tar', [`--format=${format}`, '-cf', archive, '-C', root, '.']);
      const out = path.join(work, `unpacked-${format}`);
      await mkdir(out);
      const unpacked = await untar(createReadStream(archive), out);
      expect(await filesUnder(out)).toEqual(await filesUnder(root));
      expect(unpacked.files).toBe(Object.keys(await filesUnder(root)).length);
    });
  }

  it('reads back what tarStream writes', async () => {
    const root = await sampleFolder('round');
    const out = path.join(work, 'round-out');
    await mkdir(out);
    await untar(Readable.from(tarStream(walk(root), 0)), out);
    expect(await filesUnder(out)).toEqual(await filesUnder(root));
  });

  it('refuses an entry whose name leaves the folder, writing nothing outside it', async () => {
    const archive = path.join(work, 'escape.tar');
    await writeTar(
      (async function* () {
        yield { name: '../escaped.dat', type: 'file', mode: 0o600, uid: 0, gid: 0, size: 0 } satisfies TarEntry;
      })(),
      archive,
    );
    const out = path.join(work, 'escape-out');
    await mkdir(out);
    await expect(untar(createReadStream(archive), out)).rejects.toThrow(
      'entry "../escaped.dat" does not name a place inside the folder it is unpacked into',
    );
    await expect(readFile(path.join(work, 'escaped.dat'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a symbolic link: only files and folders are unpacked', async () => {
    const root = path.join(work, 'linked');
    await mkdir(root);
    await symlink('/etc/passwd', path.join(root, 'toc.dat'));
    const archive = path.join(work, 'linked.tar');
    await run('tar', ['--format=pax', '-cf', archive, '-C', root, 'toc.dat']);
    const out = path.join(work, 'linked-out');
    await mkdir(out);
    await expect(untar(createReadStream(archive), out)).rejects.toThrow(
      "entry toc.dat is of tar type '2': only files and folders are unpacked",
    );
  });

  it('refuses an archive cut short', async () => {
    const root = await sampleFolder('cut');
    const archive = path.join(work, 'cut.tar');
    await writeTar(walk(root), archive);
    await truncate(archive, 40_000);
    const out = path.join(work, 'cut-out');
    await mkdir(out);
    await expect(untar(createReadStream(archive), out)).rejects.toThrow(/cut short/);
  });

  it('refuses bytes that are not a tar archive', async () => {
    const out = path.join(work, 'noise-out');
    await mkdir(out);
    await expect(untar(Readable.from([Buffer.alloc(1024, 'x')]), out)).rejects.toThrow(
      /is not a tar archive, or it is damaged|not an octal number/,
    );
  });
});

describe('a file that changes while it is archived', () => {
  it('fails the tar with ArchivedFileChanged, naming the file, instead of storing what it read', async () => {
    const file = path.join(work, 'growing.dat');
    await writeFile(file, 'short');
    // The entry says what the file was when listed; it has grown since.
    const entries = (async function* (): AsyncGenerator<TarEntry> {
      yield { name: 'growing.dat', type: 'file', mode: 0o600, uid: 0, gid: 0, source: file, size: 3 };
    })();
    const read = async () => {
      for await (const _chunk of tarStream(entries, 0));
    };
    const failure = await read().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ArchivedFileChanged);
    expect((failure as ArchivedFileChanged).file).toBe(file);
    expect((failure as Error).message).toBe(`${file} changed size while it was being archived`);
  });
});
