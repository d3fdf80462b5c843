import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incompleteStream } from './compressed-end.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-compressed-end-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** COPY-like text with long runs (RLE blocks) and random bytes (raw blocks) between them. */
const content = Buffer.concat(
  Array.from({ length: 40 }, (_, i) => (i % 2 ? randomBytes(20_000) : Buffer.alloc(150_000, 'a'))),
);
const zstd = (checksum: boolean) =>
  zstdCompressSync(content, { params: { [constants.ZSTD_c_checksumFlag]: checksum ? 1 : 0 } });

async function file(name: string, bytes: Buffer): Promise<string> {
  const written = path.join(dir, name);
  await writeFile(written, bytes);
  return written;
}

describe('incompleteStream', () => {
  it.each([
    [false, 'without'],
    [true, 'with'],
  ])('finds a whole zstd stream whole, %s its checksum, and every cut of it cut', async (checksum) => {
    const whole = zstd(checksum);
    expect(await incompleteStream(await file('whole.dat.zst', whole))).toBeUndefined();
    for (const keep of [1, 5, 100, Math.floor(whole.length / 2), whole.length - 4, whole.length - 1])
      expect(await incompleteStream(await file(`cut-${keep}.dat.zst`, whole.subarray(0, keep))), `${keep}`).toMatch(
        /zstd|frame|past the end/,
      );
  });

  it('walks several frames and a skippable one', async () => {
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(5, 4);
    const frames = Buffer.concat([zstd(false), skippable, zstd(true)]);
    expect(await incompleteStream(await file('frames.dat.zst', frames))).toBeUndefined();
    expect(await incompleteStream(await file('frames-cut.dat.zst', frames.subarray(0, frames.length - 10)))).toMatch(
      /past the end|before its last block/,
    );
  });

  it('says what is wrong with a file that is not zstd, or empty', async () => {
    expect(await incompleteStream(await file('text.dat.zst', Buffer.from('COPY public.t (id) FROM stdin;\n')))).toBe(
      'byte 0 does not start a zstd frame',
    );
    expect(await incompleteStream(await file('empty.dat.zst', Buffer.alloc(0)))).toBe('the file is empty');
  });

  it('inflates gzip to its trailer', async () => {
    const whole = gzipSync(content);
    expect(await incompleteStream(await file('whole.dat.gz', whole))).toBeUndefined();
    expect(await incompleteStream(await file('cut.dat.gz', whole.subarray(0, whole.length - 3)))).toBe(
      'the gzip stream is not whole (unexpected end of file)',
    );
  });

  it('has nothing to say of uncompressed COPY text', async () => {
    expect(await incompleteStream(await file('plain.dat', Buffer.from('1\tone\n')))).toBeUndefined();
  });
});
