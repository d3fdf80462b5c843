/**
 * Gathers the small reads of a pipe into large chunks before the stages behind it. A dump tool
 * writes a few KiB at a time, and Node hands on whatever the pipe held: pg_dump's 134 MB archive of
 * a 1 GiB database came as 8,888 chunks, 16 KiB on average. Every chunk costs each stage a callback,
 * the hash an update, each reader of the tee a write into its pipe and the file a write of its own.
 * Gathered into 1 MiB chunks, the Node process's CPU time for that dump fell from 0.6 s to 0.35 s
 * (scripts/bench-pipeline.ts): on two cores the dump tool and the database server want the rest.
 *
 * A chunk held back waits at most HOLD_MS for more: a slow trickle (a dump waiting on a lock)
 * still reaches the file, the destination and the progress report.
 */
import { Transform, type TransformCallback } from 'node:stream';

export const COALESCE_BYTES = 1024 * 1024;
const HOLD_MS = 200;

export class CoalesceStream extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly size: number;

  constructor(size = COALESCE_BYTES) {
    super();
    this.size = size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.heldBytes === 0 && chunk.length >= this.size) {
      callback(null, chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= this.size) {
      callback(null, this.release());
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.heldBytes > 0 && !this.destroyed) this.push(this.release());
    }, HOLD_MS);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.heldBytes > 0 ? this.release() : undefined);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.cancelTimer();
    this.held = [];
    this.heldBytes = 0;
    callback(error);
  }

  /** What is held, as one buffer; the hold timer is done with. */
  private release(): Buffer {
    this.cancelTimer();
    const joined = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    return joined;
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
