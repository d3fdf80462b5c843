/**
 * A body written into a Dropbox upload session, one chunk per request, and committed only when
 * the caller says: the sink takes the bytes (start, then append_v2 for each full chunk, each
 * retried on its own) and keeps the last, partial chunk for `commit`, which sends it with
 * upload_session/finish — or, for a body smaller than a chunk, one files/upload. Nothing is
 * visible under the path before the commit; a session never finished expires by itself.
 *
 * A chunk whose response was lost may have been stored: its retry then hears
 * `incorrect_offset` with the offset Dropbox has, which says whether to move on or send again.
 */
import { Writable } from 'node:stream';
import type { files } from 'dropbox';
import { type DropboxClient, errorSummary, isApiError } from './client.ts';
import { ContentHasher } from './content-hash.ts';

export interface Committed {
  metadata: files.FileMetadata;
  contentHash: string;
}

export class UploadSessionSink extends Writable {
  private readonly hasher = new ContentHasher();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private sessionId: string | undefined;
  private offset = 0;
  private hash: string | undefined;

  private readonly client: DropboxClient;
  private readonly chunkSize: number;
  private readonly failure: (error: unknown) => Error;

  /**
   * `failure` names an error of a chunk for the caller: a stream pipeline hands the sink's error
   * to the body too, so it must already say which destination failed.
   */
  constructor(client: DropboxClient, chunkSize: number, failure: (error: unknown) => Error) {
    super();
    this.client = client;
    this.chunkSize = chunkSize;
    this.failure = failure;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.hasher.update(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.sendFullChunks().then(
      () => callback(),
      (error: unknown) => callback(this.failure(error)),
    );
  }

  /**
   * Makes the file visible at `path` (mode add, no autorename: a taken path is a conflict, never
   * a replacement), with Dropbox checking the content hash of all the bytes.
   */
  async commit(path: string): Promise<Committed> {
    const contents = Buffer.concat(this.pending);
    const contentHash = this.contentHash();
    const commit = { path, mode: { '.tag': 'add' as const }, autorename: false, mute: true, strict_conflict: true };
    const metadata = this.sessionId
      ? await this.client.call((dbx) =>
          dbx.filesUploadSessionFinish({
            cursor: { session_id: this.sessionId!, offset: this.offset },
            commit,
            contents,
            content_hash: contentHash,
          }),
        )
      : await this.client.call((dbx) => dbx.filesUpload({ ...commit, contents, content_hash: contentHash }));
    return { metadata, contentHash };
  }

  /** Dropbox's content_hash of every byte written (once the body has ended). */
  contentHash(): string {
    this.hash ??= this.hasher.hex();
    return this.hash;
  }

  private async sendFullChunks(): Promise<void> {
    while (this.pendingBytes >= this.chunkSize) {
      const all = Buffer.concat(this.pending);
      const chunk = all.subarray(0, this.chunkSize);
      const rest = all.subarray(this.chunkSize);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      await this.send(chunk);
    }
  }

  private async send(chunk: Buffer): Promise<void> {
    if (!this.sessionId) {
      const { session_id } = await this.client.call((dbx) => dbx.filesUploadSessionStart({ contents: chunk }));
      this.sessionId = session_id;
      this.offset = chunk.length;
      return;
    }
    const sessionId = this.sessionId;
    const offset = this.offset;
    try {
      await this.client.call((dbx) =>
        dbx.filesUploadSessionAppendV2({ cursor: { session_id: sessionId, offset }, contents: chunk }),
      );
    } catch (error) {
      const stored = storedOffset(error);
      // A lost response to a request Dropbox did carry out: it already has this chunk.
      if (stored !== offset + chunk.length) throw error;
    }
    this.offset = offset + chunk.length;
  }
}

/** The offset Dropbox says it has, from an `incorrect_offset` error. */
function storedOffset(error: unknown): number | undefined {
  if (!isApiError(error) || !errorSummary(error).startsWith('incorrect_offset')) return undefined;
  const detail = (typeof error.error === 'object' ? error.error?.error : undefined) as
    | { correct_offset?: number }
    | undefined;
  return detail?.correct_offset;
}
