/**
 * The storage contract every destination provider keeps (filesystem now; S3 and R2 next):
 *
 * - putFile makes an object visible under its key only when all of it is there, and only when
 *   the bytes it stored hash to the SHA-256 it was given; otherwise it leaves nothing behind. The
 *   file given is not changed afterwards (a staged dump never is): a folder on the same disk may
 *   keep it by a hard link instead of a copy.
 * - putStream does the same for bytes whose size and SHA-256 are not known beforehand (a dump
 *   streamed straight from its tool): it counts and hashes them as they pass, lets the caller
 *   refuse them before they become visible (beforeCommit), and says what it stored. A body error,
 *   a refusal or an abort leaves nothing under the key and nothing open (no multipart upload, no
 *   partial file); the body is consumed or destroyed either way, so its producer never hangs.
 *   A taken key is refused unless the object there provably holds the same bytes.
 * - putText is for small documents (manifests), with the same all-or-nothing rule.
 * - list pages through any number of keys under a prefix; head and get report a missing key as
 *   `undefined`, never as an error.
 * - abortIncomplete closes what an interrupted putFile or putText of the key left open (an S3
 *   multipart upload, a partial file) and says how many it closed; it never touches a finished
 *   object. A signal bounds how long it may take.
 * - copyFrom, where a provider has it, copies an object of another destination inside the store
 *   (no byte passes through stepvault) and answers `undefined` when it cannot reach that one;
 *   copyBetween (copy.ts) then streams the object instead. A provider without it needs nothing.
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

/** What a streamed write stored: counted and hashed from the bytes as they passed. */
export interface StreamWritten {
  size: number;
  sha256: string;
}

export interface PutStreamOptions {
  metadata: Record<string, string>;
  contentType?: string;
  /**
   * The size when the caller knows it (a copy of a stored object): the total of progress reports,
   * and the part size of a multipart upload. Only a hint: what is stored is what the body holds.
   */
  expectedSize?: number;
  /** Told the bytes of the body read so far (of `expectedSize`, when given). */
  onProgress?: ProgressListener;
  /** Abandons the write: the promise rejects with an AbortError and nothing is left. */
  signal?: AbortSignal;
  /**
   * Called after the last byte was read and before the object becomes visible (S3: before
   * CompleteMultipartUpload; a folder: before the link). If it throws, the write is abandoned
   * and its error is rethrown as it is (e.g. the archive check of the dump, run on a tee of the
   * stream, found it truncated).
   */
  beforeCommit?(written: StreamWritten): Promise<void>;
}

export interface CopyOptions {
  /** Added to the copy's metadata (which also gets the expected SHA-256 under `sha256`). */
  metadata?: Record<string, string>;
  contentType?: string;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/** A finished copy, and what was checked of it. */
export interface CopyResult {
  size: number;
  sha256: string;
  method: 'server-side' | 'streamed';
  /** What was held to the expected size and SHA-256, in words for the log and the report. */
  checked: string;
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
  putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten>;
  putText(key: string, body: string, contentType: string): Promise<void>;
  head(key: string): Promise<ObjectInfo | undefined>;
  get(key: string): Promise<Readable | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  abortIncomplete(key: string, signal?: AbortSignal): Promise<number>;
  /**
   * Copies `sourceKey` of `source` to `key` here inside the store, with the rules of putFile, or
   * answers `undefined` when it cannot reach `source` that way (another store, other credentials).
   */
  copyFrom?(
    source: StorageProvider,
    sourceKey: string,
    key: string,
    expected: StreamWritten,
    options: CopyOptions,
  ): Promise<CopyResult | undefined>;
  /** A human-readable address of a key: a path, or an s3:// URL. */
  locate(key: string): string;
}
