import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ContentHasher, contentHash } from './content-hash.ts';

const MIB = 1024 * 1024;

/** The definition, written out: blocks of 4 MiB hashed, their digests hashed together. */
function reference(data: Buffer): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < data.length; at += 4 * MIB)
    digests.push(
      createHash('sha256')
        .update(data.subarray(at, at + 4 * MIB))
        .digest(),
    );
  return createHash('sha256').update(Buffer.concat(digests)).digest('hex');
}

describe('Dropbox content hash', () => {
  it('of nothing is the SHA-256 of nothing', () => {
    expect(contentHash(Buffer.alloc(0))).toBe(createHash('sha256').digest('hex'));
  });

  it.each([1, 4 * MIB, 4 * MIB + 1, 9 * MIB + 17])('of %d bytes, fed in odd pieces, follows the definition', (size) => {
    const data = Buffer.alloc(size, 0);
    for (let i = 0; i < size; i += 4099) data[i] = i % 251;
    const hasher = new ContentHasher();
    for (let at = 0; at < size; at += 1_000_003) hasher.update(data.subarray(at, at + 1_000_003));
    expect(hasher.hex()).toBe(reference(data));
  });
});
