/**
 * A copy of a stream for readers beside the main one: the archive check reads the dump as it
 * passes (pg_restore on its standard input), so a dump that is never staged needs no second read.
 */
import { Transform, type TransformCallback, type Writable } from 'node:stream';

/**
 * Passes every chunk through and writes it to each reader too, waiting for the slowest before it
 * takes the next chunk: memory stays flat, whoever is slow. A reader that stops early (pg_restore
 * --list, once it has the table of contents) is let go; whether stopping was right is for its own
 * exit status to say, not for the stream.
 */
export class TeeStream extends Transform {
  private readonly readers = new Set<Writable>();
  private ended = false;

  add(reader: Writable): void {
    this.readers.add(reader);
    const drop = () => this.readers.delete(reader);
    reader.once('close', drop);
    // EPIPE once the reader's process has stopped reading: that reader is done, the dump goes on.
    reader.on('error', drop);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const waits: Promise<void>[] = [];
    for (const reader of this.readers) {
      if (reader.destroyed || reader.writableEnded) {
        this.readers.delete(reader);
        continue;
      }
      if (!reader.write(chunk)) waits.push(writable(reader));
    }
    if (waits.length === 0) callback(null, chunk);
    else void Promise.all(waits).then(() => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    this.ended = true;
    for (const reader of this.readers) reader.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // The dump was abandoned: the readers must not take a cut stream for a whole one. A tee that
    // ended whole is destroyed too (autoDestroy), maybe before a reader wrote out what it was
    // given: that reader must be left to finish, or it sees the stream cut short.
    if (this.ended && !error) {
      this.readers.clear();
      callback(error);
      return;
    }
    for (const reader of this.readers) reader.destroy();
    this.readers.clear();
    callback(error);
  }
}

/** Resolves when the reader takes writes again, or will never take them. */
function writable(reader: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      reader.off('drain', done);
      reader.off('close', done);
      reader.off('error', done);
      resolve();
    };
    reader.on('drain', done);
    reader.on('close', done);
    reader.on('error', done);
  });
}
