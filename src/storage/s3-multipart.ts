/**
 * The sink of a streamed S3 upload: it cuts the bytes into parts and sends each as it fills,
 * a few at a time, so memory holds at most `concurrency` parts in flight and one filling, however
 * large the body. It never completes the upload itself: the provider does, once the caller's
 * beforeCommit has passed (lib-storage's Upload completes on its own, which is why it is not used
 * here). A body that ends within its first part is kept whole for a single PutObject instead: a
 * multipart upload needs one part at least, and one request is cheaper.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  type S3Client,
  UploadPartCommand,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';

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
}

/** What the body became: a multipart upload with all its parts sent, or a body small enough for one PutObject. */
export type Staged = { uploadId: string; parts: CompletedPart[] } | { body: Buffer };

export class MultipartSink extends Writable {
  private readonly target: MultipartTarget;
  private chunks: Buffer[] = [];
  private buffered = 0;
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
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.sendFullParts().then(() => callback(), callback);
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
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (!uploadId) return;
    await this.target.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.target.key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  private async sendFullParts(): Promise<void> {
    while (this.buffered >= partSizeFor(this.partNumber + 1, this.target.basePartSize)) {
      await this.send(this.take(partSizeFor(this.partNumber + 1, this.target.basePartSize)));
    }
  }

  private async finish(): Promise<void> {
    if (!this.uploadId) {
      this.small = this.take(this.buffered);
      return;
    }
    if (this.buffered > 0) await this.send(this.take(this.buffered));
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
    this.createdId = await this.uploadId;
  }

  /** Sends one part once a slot is free; a part that failed earlier fails the sink. */
  private async send(part: Buffer): Promise<void> {
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
      .finally(() => this.inFlight.delete(uploading));
    this.inFlight.add(uploading);
  }

  private async uploadPart(partNumber: number, body: Buffer): Promise<void> {
    const { target } = this;
    const uploadId = await this.uploadId!;
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

  /** The first `size` bytes buffered, as one buffer; the rest stays (copied, so the part can be freed). */
  private take(size: number): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    const rest = all.subarray(size);
    this.chunks = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.buffered = rest.length;
    return all.subarray(0, size);
  }
}
