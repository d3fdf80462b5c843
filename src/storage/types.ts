/**
 * The storage contract every destination provider keeps (filesystem now; S3 and R2 next):
 *
 * - putFile makes an object visible under its key only when all of it is there, and only when
 *   the bytes it stored hash to the SHA-256 it was given; otherwise it leaves nothing behind.
 * - putText is for small documents (manifests), with the same all-or-nothing rule.
 * - list pages through any number of keys under a prefix; head and get report a missing key as
 *   `undefined`, never as an error.
 * - abortIncomplete closes what an interrupted putFile or putText of the key left open (an S3
 *   multipart upload, a partial file) and says how many it closed; it never touches a finished
 *   object. A signal bounds how long it may take.
 * - A failure that may pass throws StorageError (retried); one that needs a human, ConfigError.
 */
import type { Readable } from 'node:stream';
import type { ProgressListener } from '../observability/progress.ts';

export interface PutFileOptions {
  size: number;
  sha256: string;
  metadata: Record<string, string>;
  contentType?: string;
  /** Told the bytes of the file read so far, of `size`. */
  onProgress?: ProgressListener;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface StorageProvider {
  /** The destination's name in the config. */
  readonly name: string;
  readonly type: string;
  putFile(key: string, file: string, options: PutFileOptions): Promise<void>;
  putText(key: string, body: string, contentType: string): Promise<void>;
  head(key: string): Promise<ObjectInfo | undefined>;
  get(key: string): Promise<Readable | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  abortIncomplete(key: string, signal?: AbortSignal): Promise<number>;
  /** A human-readable address of a key: a path, or an s3:// URL. */
  locate(key: string): string;
}
