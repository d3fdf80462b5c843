import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { TeeStream } from './tee.ts';

/** A reader that takes writes into its buffer at once and works through them slowly, as a child's stdin does. */
function slowReader(): { reader: Writable; received: () => number } {
  let received = 0;
  const reader = new Writable({
    highWaterMark: 1024 * 1024,
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        received += chunk.length;
        done();
      }, 5);
    },
  });
  return { reader, received: () => received };
}

describe('TeeStream', () => {
  it('lets a reader finish what it was given after the stream ended whole, though the tee is destroyed', async () => {
    const tee = new TeeStream();
    const { reader, received } = slowReader();
    tee.add(reader);
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(1024, 7));
    await pipeline(Readable.from(chunks), tee, new Writable({ write: (_c, _e, done) => done() }));
    await once(reader, 'finish');
    expect(received()).toBe(20 * 1024);
  });

  it('cuts a reader off when the stream is abandoned, so it never takes part of a dump for the whole', async () => {
    const tee = new TeeStream();
    const { reader } = slowReader();
    tee.add(reader);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('the dump tool died'));
      },
    });
    await expect(pipeline(failing, tee, new Writable({ write: (_c, _e, done) => done() }))).rejects.toThrow('died');
    expect(reader.destroyed).toBe(true);
    expect(reader.writableFinished).toBe(false);
  });
});
