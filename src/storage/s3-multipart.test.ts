import { describe, expect, it } from 'vitest';
import { largestStreamable, partSizeFor } from './s3-multipart.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

describe('the parts of a streamed S3 upload', () => {
  it('keep the configured size for the first 2,000 parts, then double every 2,000', () => {
    expect([1, 2000, 2001, 4000, 4001, 8001, 10_000].map((n) => partSizeFor(n, 8 * MIB) / MIB)).toEqual([
      8, 8, 16, 16, 32, 128, 128,
    ]);
  });

  it('hold 484 GiB in 10,000 parts from 8 MiB, and ten times that from 80 MiB', () => {
    expect(largestStreamable(8 * MIB) / GIB).toBe(484.375);
    expect(largestStreamable(80 * MIB) / GIB).toBe(4843.75);
  });
});
