import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tarStream, walk } from '../streams/tar.ts';
import { unpackDirectoryDump } from './directory.ts';
import { unpackTarredFolder } from './unpack.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-unpack-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A tar of `files` (relative names → contents), as the dumpers write one. */
async function tarOf(files: Record<string, string>): Promise<Buffer[]> {
  const root = await mkdtemp(path.join(dir, 'source-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(walk(root), 0)) chunks.push(chunk);
  return chunks;
}

async function* bytes(chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks;
}

describe('unpacking a backup stored as a tar of a folder', () => {
  const expected = { folder: 'server', marker: 'globals.sql', kind: 'a whole-server backup' };

  it('gives the folder that holds the marker', async () => {
    const tar = await tarOf({ 'server/globals.sql': '-- roles', 'server/app.dump': 'PGDMP' });
    const folder = await unpackTarredFolder(bytes(tar), path.join(dir, 'work'), 'backup x', expected);
    expect(await readFile(path.join(folder, 'app.dump'), 'utf8')).toBe('PGDMP');
  });

  it('refuses bytes that are not a tar', async () => {
    const notTar = [Buffer.alloc(1024, 'x')];
    await expect(unpackTarredFolder(bytes(notTar), path.join(dir, 'work'), 'backup x', expected)).rejects.toThrow(
      /^backup x cannot be unpacked: .*; nothing was restored$/,
    );
  });

  it('refuses a tar of another kind of backup, naming what is missing', async () => {
    const tar = await tarOf({ 'dump/toc.dat': 'PGDMP' });
    await expect(unpackTarredFolder(bytes(tar), path.join(dir, 'work'), 'backup x', expected)).rejects.toThrow(
      'backup x is not a whole-server backup: it holds no server/globals.sql; nothing was restored',
    );
    await expect(
      unpackDirectoryDump(bytes(await tarOf({ 'server/globals.sql': '' })), path.join(dir, 'w2'), 'backup y'),
    ).rejects.toThrow('backup y is not a directory-format dump: it holds no dump/toc.dat; nothing was restored');
  });
});
