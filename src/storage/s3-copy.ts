/**
 * An object copied inside an S3 store, without its bytes passing through stepvault: one
 * CopyObject up to S3's 5 GiB limit for it, else a multipart upload whose parts are
 * UploadPartCopy ranges of the source. The new object appears only with the last request (the
 * CopyObject or the CompleteMultipartUpload), which carries the caller's `If-None-Match`; a
 * failure before then aborts the multipart upload, so no part stays behind. A store that may not
 * honour If-None-Match on CopyObject (R2 wants a header of its own there; compatible servers vary)
 * gets the multipart form at any size: every store that refuses a taken key does so on
 * CompleteMultipartUpload.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateMultipartUploadCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { ProgressListener } from '../observability/progress.ts';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

export interface CopyLimits {
  /** The largest object one CopyObject copies (S3: 5 GiB). */
  singleCopyMax: number;
  /** The range each UploadPartCopy copies above that: 10,000 of them reach S3's 5 TiB object limit. */
  partSize: number;
}

export const S3_COPY_LIMITS: CopyLimits = { singleCopyMax: 5 * GIB, partSize: 512 * MIB };

export interface InStoreCopy {
  client: S3Client;
  sourceBucket: string;
  sourceKey: string;
  /** The new object: bucket, key, metadata, content type and the destination's settings. */
  params: PutObjectCommandInput & { Bucket: string; Key: string };
  size: number;
  /** `{ IfNoneMatch: '*' }` where the store refuses a taken key itself. */
  condition: { IfNoneMatch?: string };
  /** The store honours If-None-Match on CopyObject (AWS S3). */
  conditionalCopyObject: boolean;
  limits: CopyLimits;
  concurrency: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** Copies the object; the store's errors are thrown as the SDK gives them (412: the key is taken). */
export async function copyInStore(copy: InStoreCopy): Promise<void> {
  const sendOptions = copy.signal ? { abortSignal: copy.signal } : {};
  const copySource = `${copy.sourceBucket}/${copy.sourceKey.split('/').map(encodeURIComponent).join('/')}`;
  const conditionHeld = copy.conditionalCopyObject || !copy.condition.IfNoneMatch;
  if (copy.size <= copy.limits.singleCopyMax && conditionHeld) {
    const { Body: _body, ...params } = copy.params;
    await copy.client.send(
      new CopyObjectCommand({
        ...(params as CopyObjectCommandInput),
        CopySource: copySource,
        MetadataDirective: 'REPLACE',
        ...copy.condition,
      }),
      sendOptions,
    );
    copy.onProgress?.({ bytes: copy.size, totalBytes: copy.size });
    return;
  }
  const { UploadId } = await copy.client.send(new CreateMultipartUploadCommand(copy.params), sendOptions);
  const { Bucket, Key } = copy.params;
  try {
    const parts = await copyParts(copy, copySource, UploadId!, sendOptions);
    copy.signal?.throwIfAborted();
    // Not abortable: once it is sent the object may be there, and the caller must know which.
    await copy.client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: parts },
        ...copy.condition,
      }),
    );
  } catch (error) {
    await copy.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
    throw error;
  }
}

/** The UploadPartCopy requests, `concurrency` at a time, in part order in the answer. */
async function copyParts(
  copy: InStoreCopy,
  copySource: string,
  uploadId: string,
  sendOptions: { abortSignal?: AbortSignal },
): Promise<CompletedPart[]> {
  const count = Math.ceil(copy.size / copy.limits.partSize);
  const parts: CompletedPart[] = new Array(count);
  let next = 0;
  let copied = 0;
  // A part that fails stops the others from starting theirs: the upload is aborted once none is in flight.
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failure) {
      const index = next++;
      try {
        await copyPart(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const copyPart = async (index: number) => {
    const start = index * copy.limits.partSize;
    const end = Math.min(copy.size, start + copy.limits.partSize) - 1;
    const { CopyPartResult } = await copy.client.send(
      new UploadPartCopyCommand({
        Bucket: copy.params.Bucket,
        Key: copy.params.Key,
        UploadId: uploadId,
        PartNumber: index + 1,
        CopySource: copySource,
        CopySourceRange: `bytes=${start}-${end}`,
      }),
      sendOptions,
    );
    parts[index] = {
      PartNumber: index + 1,
      ETag: CopyPartResult?.ETag,
      ...(CopyPartResult?.ChecksumSHA256 && { ChecksumSHA256: CopyPartResult.ChecksumSHA256 }),
    };
    copied += end - start + 1;
    copy.onProgress?.({ bytes: copied, totalBytes: copy.size });
  };
  await Promise.all(Array.from({ length: Math.min(copy.concurrency, count) }, worker));
  if (failure) throw failure.error;
  return parts;
}
