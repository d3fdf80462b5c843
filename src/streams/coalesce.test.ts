import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { COALESCE_BYTES, CoalesceStream } from './coalesce.ts';

function collector(): { sink: Writable; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, chunks };
}

const sha256 = (buffers: Buffer[]) => createHash('sha256').update(Buffer.concat(buffers)).digest('hex');

describe('CoalesceStream', () => {
  it('passes the same bytes in the same order, in chunks of at least 1 MiB but the last', async () => {
    // Reads of the sizes a pipe gives: mostly 4 KiB, some 32 and 64 KiB.
    const input = Array.from({ length: 1500 }, (_, i) => randomBytes([4096, 4096, 32768, 65536][i % 4]!));
    const { sink, chunks } = collector();
    await pipeline(Readable.from(input), new CoalesceStream(), sink);
    expect(sha256(chunks)).toBe(sha256(input));
    expect(chunks.length).toBeLessThan(input.length / 10);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(COALESCE_BYTES);
  });

  it('hands a chunk already as large on as it is', async () => {
    const big = randomBytes(COALESCE_BYTES + 5);
    const { sink, chunks } = collector();
    await pipeline(Readable.from([big]), new CoalesceStream(), sink);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toBe(big);
  });

  it('does not sit on a trickle: what is held goes on within a fraction of a second', async () => {
    const source = new PassThrough();
    const coalesce = new CoalesceStream();
    const { sink, chunks } = collector();
    const done = pipeline(source, coalesce, sink);
    source.write(Buffer.from('-- a dump waiting on a lock\n'));
    const started = Date.now();
    while (chunks.length === 0 && Date.now() - started < 2000) await new Promise((r) => setTimeout(r, 20));
    expect(chunks.map(String)).toEqual(['-- a dump waiting on a lock\n']);
    expect(Date.now() - started).toBeLessThan(1000);
    source.end(Buffer.from('COPY 1\n'));
    await done;
    expect(Buffer.concat(chunks).toString()).toBe('-- a dump waiting on a lock\nCOPY 1\n');
  });

  it('passes a failure of its source on and holds nothing after it', async () => {
    const source = new PassThrough();
    const coalesce = new CoalesceStream();
    const { sink } = collector();
    const done = pipeline(source, coalesce, sink);
    source.write(Buffer.alloc(1000));
    source.destroy(new Error('pg_dump: error: connection to server lost'));
    await expect(done).rejects.toThrow('connection to server lost');
    expect(coalesce.destroyed).toBe(true);
    // The hold timer was cancelled with it: nothing is pushed into a destroyed stream.
    await new Promise((r) => setTimeout(r, 300));
    expect(coalesce.readableLength).toBe(0);
  });

  it('ends an empty stream with nothing', async () => {
    const { sink, chunks } = collector();
    const coalesce = new CoalesceStream();
    await pipeline(Readable.from([]), coalesce, sink);
    expect(chunks).toEqual([]);
  });
});
