/**
 * Size and SHA-256 of the bytes that pass, taken on the way: what a dump, an upload, a download
 * and a server-written backup all need to know about the file they move, without reading it twice.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ProgressListener } from '../observability/progress.ts';
import { reclaimStreamed } from './reclaim.ts';

/** Counts and hashes what flows through it, and reports progress at most every 250 ms. */
export class DigestStream extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private lastReport = 0;
  private readonly onProgress: ProgressListener | undefined;
  private readonly totalBytes: number | undefined;

  /** `totalBytes`, when the size is known beforehand (a download), goes with each report. */
  constructor(onProgress?: ProgressListener, totalBytes?: number) {
    super();
    this.onProgress = onProgress;
    this.totalBytes = totalBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    reclaimStreamed(chunk.length);
    const now = Date.now();
    if (this.onProgress && now - this.lastReport >= 250) {
      this.lastReport = now;
      this.report();
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.report();
    callback();
  }

  private report(): void {
    this.onProgress?.({ bytes: this.bytes, ...(this.totalBytes !== undefined && { totalBytes: this.totalBytes }) });
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}
