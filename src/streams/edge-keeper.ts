import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through untouched, keeping the first and last few of them for inspection. */
export class EdgeKeeper extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);
  private readonly headSize: number;
  private readonly tailSize: number;

  constructor(headSize: number, tailSize: number) {
    super();
    this.headSize = headSize;
    this.tailSize = tailSize;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.head.length < this.headSize)
      this.head = Buffer.concat([this.head, chunk.subarray(0, this.headSize - this.head.length)]);
    const joined = chunk.length >= this.tailSize ? chunk : Buffer.concat([this.tail, chunk]);
    this.tail = joined.subarray(Math.max(0, joined.length - this.tailSize));
    callback(null, chunk);
  }

  headText(): string {
    return this.head.toString('utf8');
  }

  tailText(): string {
    return this.tail.toString('utf8');
  }
}
