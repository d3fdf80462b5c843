import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyFileHashing, hashFile } from './file-copy.ts';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('a file read through two alternating buffers', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stepvault-file-copy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // Sizes around the buffer's: none, less than one, exactly two (the last read finds nothing), more.
  for (const size of [0, 5, 2 * MiB, 5 * MiB + 3]) {
    it(`of ${size} bytes is hashed and copied byte for byte`, async () => {
      const bytes = randomBytes(size);
      const source = path.join(dir, 'source');
      await writeFile(source, bytes);
      expect(await hashFile(source, { sync: true })).toEqual({ bytes: size, sha256: sha256(bytes) });

      const progress: number[] = [];
      const target = path.join(dir, 'target');
      const copied = await copyFileHashing(source, target, {
        mode: 0o640,
        onProgress: (p) => progress.push(p.bytes ?? -1),
        totalBytes: size,
      });
      expect(copied).toEqual({ bytes: size, sha256: sha256(bytes) });
      expect(sha256(await readFile(target))).toBe(sha256(bytes));
      expect((await stat(target)).mode & 0o777).toBe(0o640);
      expect(progress.at(-1)).toBe(size);
    });
  }

  it('is read at its own positions: two hashes of one file at once agree with the file', async () => {
    const bytes = randomBytes(4 * MiB + 11);
    const source = path.join(dir, '-source\nname');
    await writeFile(source, bytes);
    const both = await Promise.all([hashFile(source), hashFile(source)]);
    expect(both).toEqual([
      { bytes: bytes.length, sha256: sha256(bytes) },
      { bytes: bytes.length, sha256: sha256(bytes) },
    ]);
  });

  it('is not copied over a file already there, which keeps its bytes', async () => {
    const source = path.join(dir, 'source');
    const target = path.join(dir, 'target');
    await writeFile(source, randomBytes(3 * MiB));
    await writeFile(target, 'already here');
    await expect(copyFileHashing(source, target, { mode: 0o600 })).rejects.toThrow(/EEXIST/);
    expect(await readFile(target, 'utf8')).toBe('already here');
  });
});
