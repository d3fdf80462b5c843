/**
 * The sink of a streamed S3 upload: it copies the bytes into part buffers (part-buffers.ts,
 * reused once a part is sent) and sends each as it fills, a few at a time, so memory holds at most
 * `concurrency` parts in flight and one filling, however large the body. It never completes the
 * upload itself: the provider does, once the caller's beforeCommit has passed (lib-storage's
 * Upload completes on its own, which is why it is not used here). A body that ends within its
 * first part is kept whole for a single PutObject instead: a multipart upload needs one part at
 * least, and one request is cheaper.
 */
import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  type S3Client,
  UploadPartCommand,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import { PartBuffers } from './part-buffers.ts';
import { type FileRange, readRange, sendFilePart } from './s3-file-part.ts';

/** S3's limit on the parts of one upload. */
export const MAX_PARTS = 10_000;
/** Parts keep their size this many at a time, then double (see partSizeFor). */
const PARTS_PER_SIZE = 2_000;

/**
 * The size of part `partNumber` (from 1) of a body whose size is unknown: `base` for the first
 * 2,000 parts, then twice as much for each further 2,000. With 8 MiB parts the 10,000 parts hold
 * 484 GiB, while a body of a few GiB still goes in parts of the configured size.
 */
export function partSizeFor(partNumber: number, base: number): number {
  return base * 2 ** Math.floor((partNumber - 1) / PARTS_PER_SIZE);
}

/** How many bytes the parts 1..MAX_PARTS of `base` hold together. */
export function largestStreamable(base: number): number {
  let total = 0;
  for (let part = 1; part <= MAX_PARTS; part += PARTS_PER_SIZE) total += PARTS_PER_SIZE * partSizeFor(part, base);
  return total;
}

export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Starts the multipart upload (with the object's metadata and settings) and gives its id. */
  create(): Promise<string>;
  /** Each part carries its SHA-256 for the store to check (AWS). */
  checksums: boolean;
  basePartSize: number;
  concurrency: number;
  signal?: AbortSignal;
  /**
   * The file the body is read from, when it is one (a staged dump): its parts are then sent as
   * ranges read again from the file (s3-file-part.ts), and no part is held in memory.
   */
  file?: string;
}

/** A part ready to send: bytes in a buffer of the pool, or a range of the file. */
type Part = { buffer: Buffer; length: number } | FileRange;

/** What the body became: a multipart upload with all its parts sent, or a body small enough for one PutObject. */
export type Staged = { uploadId: string; parts: CompletedPart[] } | { body: Buffer };

export class MultipartSink extends Writable {
  private readonly target: MultipartTarget;
  private readonly buffers = new PartBuffers();
  /** The part being filled (a buffer from `buffers`, possibly longer than the part) and its bytes so far. */
  private filling: Buffer | undefined;
  private filled = 0;
  /** Reading a file: where the part being counted starts, and the hash of its bytes so far. */
  private partStart = 0;
  private partHash: Hash | undefined;
  private partNumber = 0;
  private uploadId: Promise<string> | undefined;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private small: Buffer | undefined;
  private createdId: string | undefined;
  private discarded = false;

  constructor(target: MultipartTarget) {
    super();
    this.target = target;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    (this.target.file ? this.count(chunk) : this.fill(chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  /** Once the sink has finished: what there is to commit. */
  staged(): Staged {
    if (this.small) return { body: this.small };
    return { uploadId: this.createdId!, parts: this.parts };
  }

  /**
   * Waits for the parts still in flight, then aborts the multipart upload if one was started.
   * An abort that cannot reach the store is left to Cleanup's abortIncomplete (the caller's own
   * error says more than this one would).
   */
  async discard(): Promise<void> {
    this.discarded = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.buffers.clear();
    this.filling = undefined;
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (!uploadId) return;
    await this.target.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  /** Copies the chunk into the part filling, sending each part as it becomes full. */
  private async fill(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const size = partSizeFor(this.partNumber + 1, this.target.basePartSize);
      this.filling ??= this.buffers.take(size);
      const end = Math.min(chunk.length, offset + size - this.filled);
      this.filled += chunk.copy(this.filling, this.filled, offset, end);
      offset = end;
      if (this.filled === size) await this.send(this.takeFilled());
    }
  }

  /** Hashes the chunk into the part being counted (the bytes stay in the file), sending each part as it is complete. */
  private async count(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const size = partSizeFor(this.partNumber + 1, this.target.basePartSize);
      this.partHash ??= createHash('sha256');
      const end = Math.min(chunk.length, offset + size - this.filled);
      this.partHash.update(chunk.subarray(offset, end));
      this.filled += end - offset;
      offset = end;
      if (this.filled === size) await this.send(this.takeRange());
    }
  }

  /** The part counted so far, as a range of the file: the next byte starts a new part. */
  private takeRange(): FileRange {
    const range = {
      start: this.partStart,
      length: this.filled,
      sha256: (this.partHash ?? createHash('sha256')).digest('base64'),
    };
    this.partStart += this.filled;
    this.filled = 0;
    this.partHash = undefined;
    return range;
  }

  private async finish(): Promise<void> {
    if (!this.uploadId && this.target.file) {
      this.small = await readRange(this.target.file, this.takeRange());
      return;
    }
    if (!this.uploadId) {
      // A copy the size of the body, so that a small body does not hold a whole part buffer.
      const { buffer, length } = this.takeFilled();
      this.small = Buffer.from(buffer.subarray(0, length));
      this.buffers.clear();
      return;
    }
    if (this.filled > 0) await this.send(this.target.file ? this.takeRange() : this.takeFilled());
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.buffers.clear();
    if (this.failure) throw this.failure.error;
    this.createdId = await this.uploadId;
  }

  /** The part filled so far, handed over: the next byte starts a new part. */
  private takeFilled(): { buffer: Buffer; length: number } {
    const part = { buffer: this.filling ?? Buffer.alloc(0), length: this.filled };
    this.filling = undefined;
    this.filled = 0;
    return part;
  }

  /**
   * Sends one part once a slot is free; a part that failed earlier fails the sink. Its buffer goes
   * back to the pool when its request is over, retries included: nothing reads it after that.
   */
  private async send(part: Part): Promise<void> {
    while (this.inFlight.size >= this.target.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
    // A write still waiting for a slot when the upload was given up must not start a part after its abort.
    if (this.discarded || this.destroyed) throw new Error('the upload was abandoned');
    const partNumber = ++this.partNumber;
    if (partNumber > MAX_PARTS) {
      throw new Error(
        `the body is larger than the ${MAX_PARTS} parts of one upload hold (${largestStreamable(this.target.basePartSize)} bytes with parts from ${this.target.basePartSize} bytes); raise partSizeMB`,
      );
    }
    this.uploadId ??= this.target.create();
    const uploading: Promise<void> = this.uploadPart(partNumber, part)
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight.delete(uploading);
        if ('buffer' in part) this.buffers.give(part.buffer);
      });
    this.inFlight.add(uploading);
  }

  private async uploadPart(partNumber: number, part: Part): Promise<void> {
    const { target } = this;
    const uploadId = await this.uploadId!;
    if (!('buffer' in part)) {
      const sent = await sendFilePart({
        client: target.client,
        bucket: target.bucket,
        key: target.key,
        uploadId,
        partNumber,
        file: target.file!,
        range: part,
        checksums: target.checksums,
        ...(target.signal && { signal: target.signal }),
      });
      this.parts[partNumber - 1] = {
        PartNumber: partNumber,
        ETag: sent.ETag,
        ...(target.checksums && { ChecksumSHA256: part.sha256 }),
      };
      return;
    }
    const body = part.buffer.subarray(0, part.length);
    const checksum = target.checksums ? createHash('sha256').update(body).digest('base64') : undefined;
    const input: UploadPartCommandInput = {
      Bucket: target.bucket,
      Key: target.key,
      UploadId: uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
      ...(checksum && { ChecksumSHA256: checksum }),
    };
    const result = await target.client.send(
      new UploadPartCommand(input),
      target.signal ? { abortSignal: target.signal } : {},
    );
    this.parts[partNumber - 1] = {
      PartNumber: partNumber,
      ETag: result.ETag,
      ...(checksum && { ChecksumSHA256: checksum }),
    };
  }
}
