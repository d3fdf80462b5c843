/**
 * A part of a staged file sent to S3 as a range read from the file, not from memory: the upload of
 * a file holds no part buffers at all (see s3-multipart.ts). The sink has hashed the part's bytes
 * in order as the file passed through it; the range is read again as it is sent and hashed on the
 * way, and a part whose bytes differ from what was hashed fails the upload. The SDK cannot send a
 * stream twice, so a part that fails is retried here, each attempt with a new read of its range.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type S3Client, UploadPartCommand, type UploadPartCommandOutput } from '@aws-sdk/client-s3';
import { ChecksumMismatchError } from '../errors.ts';
import { DigestStream } from '../streams/digest.ts';

/** A range of the file and the SHA-256 (base64) of its bytes as the sink saw them pass. */
export interface FileRange {
  start: number;
  length: number;
  sha256: string;
}

export interface FilePartRequest {
  client: S3Client;
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  file: string;
  range: FileRange;
  /** Send the SHA-256 for the store to check (AWS). */
  checksums: boolean;
  signal?: AbortSignal;
}

/** As many tries as the S3 client gives a request whose body it can replay. */
const ATTEMPTS = 3;

export async function sendFilePart(request: FilePartRequest): Promise<UploadPartCommandOutput> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce(request);
    } catch (error) {
      const unreadable = (error as NodeJS.ErrnoException).path === request.file;
      if (attempt >= ATTEMPTS || unreadable || !retryable(error) || request.signal?.aborted) throw error;
      // The client's own backoff for a request it retries: a random wait up to 100 ms × 2^attempt.
      await sleep(Math.random() * 100 * 2 ** attempt);
    }
  }
}

async function sendOnce(request: FilePartRequest): Promise<UploadPartCommandOutput> {
  const { range } = request;
  const source = createReadStream(request.file, { start: range.start, end: range.start + range.length - 1 });
  const digest = new DigestStream();
  // The request reads the body through pipe(), which passes no error on: a file that cannot be
  // read (removed underneath) ends the request at once, as that error, not at the idle timeout.
  const unreadable = new AbortController();
  let readError: unknown;
  source.once('error', (error) => {
    readError = error;
    unreadable.abort(error);
  });
  const signal = request.signal ? AbortSignal.any([request.signal, unreadable.signal]) : unreadable.signal;
  try {
    const result = await request.client
      .send(
        new UploadPartCommand({
          Bucket: request.bucket,
          Key: request.key,
          UploadId: request.uploadId,
          PartNumber: request.partNumber,
          Body: source.pipe(digest),
          ContentLength: range.length,
          ...(request.checksums && { ChecksumSHA256: range.sha256 }),
        }),
        { abortSignal: signal },
      )
      .catch((error: unknown) => {
        throw readError ?? error;
      });
    const sent = Buffer.from(digest.hex(), 'hex').toString('base64');
    if (digest.bytes !== range.length || sent !== range.sha256) {
      throw new ChecksumMismatchError(
        `part ${request.partNumber} of ${request.file} changed while it was uploaded: sent ${digest.bytes} bytes (SHA-256 ${sent}), read ${range.length} bytes with ${range.sha256} before`,
      );
    }
    return result;
  } finally {
    source.destroy();
    digest.destroy();
  }
}

/** Worth another try: no answer at all, or the store's own trouble (5xx, throttling, timeout). */
function retryable(error: unknown): boolean {
  if (error instanceof ChecksumMismatchError) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500 || status === 429 || status === 408;
}

/** The bytes of a range small enough to hold (a file within its first part), checked against its SHA-256. */
export async function readRange(file: string, range: FileRange): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const bytes = Buffer.alloc(range.length);
    let read = 0;
    while (read < range.length) {
      const { bytesRead } = await handle.read(bytes, read, range.length - read, range.start + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const sha256 = createHash('sha256').update(bytes.subarray(0, read)).digest('base64');
    if (read !== range.length || sha256 !== range.sha256) {
      throw new ChecksumMismatchError(
        `${file} changed while it was uploaded: read ${read} bytes (SHA-256 ${sha256}), ${range.length} bytes with ${range.sha256} before`,
      );
    }
    return bytes;
  } finally {
    await handle.close();
  }
}
