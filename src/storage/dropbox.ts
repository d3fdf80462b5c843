/**
 * A Dropbox folder as a destination, through the official SDK (see dropbox/client.ts). Keys map
 * to paths under the configured folder (an App-folder app's root when none is given). Uploads go
 * through upload sessions in chunks (dropbox/upload-session.ts) and become visible only when
 * finished, with `mode: add` and no autorename: a taken path is refused by Dropbox itself, and
 * the file there counts as this one only when its content_hash is ours. What Dropbox reports it
 * stored is held to the content_hash computed as the bytes went out.
 *
 * Dropbox keeps no free-form metadata on a file: the manifest written beside each backup holds it.
 */
import { Readable } from 'node:stream';
import type { DropboxDestinationConfig } from '../config/schema.ts';
import { ChecksumMismatchError, ConfigError, ObjectExistsError, StorageError } from '../errors.ts';
import { type DropboxClient, errorSummary, isApiError } from './dropbox/client.ts';
import { UploadSessionSink } from './dropbox/upload-session.ts';
import { putFileStreamed } from './put-file-streamed.ts';
import { discard, streamInto, throwIfAborted } from './stream-body.ts';
import type { ObjectInfo, PutFileOptions, PutStreamOptions, StorageProvider, StreamWritten } from './types.ts';

const MIB = 1024 * 1024;
const DEFAULT_CHUNK_MB = 16;

export class DropboxStorage implements StorageProvider {
  readonly type = 'dropbox';
  readonly name: string;
  private readonly folder: string;
  private readonly chunkSize: number;
  private readonly client: DropboxClient;

  constructor(name: string, config: DropboxDestinationConfig, client: DropboxClient) {
    this.name = name;
    this.client = client;
    this.folder = config.folder ?? '';
    this.chunkSize = (config.chunkSizeMB ?? DEFAULT_CHUNK_MB) * MIB;
  }

  locate(key: string): string {
    return `dropbox:${this.path(key)}`;
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    await putFileStreamed(this, key, file, options);
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten> {
    try {
      // Credentials Dropbox refuses fail the write before a byte of the body is read.
      await this.client.accessToken();
    } catch (error) {
      discard(body);
      throw this.failure('upload', key, error);
    }
    const sink = new UploadSessionSink(this.client, this.chunkSize, (error) => this.failure('upload', key, error));
    let written: StreamWritten;
    try {
      written = await streamInto(body, sink, options, (error) => error);
      await options.beforeCommit?.(written);
      throwIfAborted(options.signal);
    } catch (error) {
      discard(body);
      throw error;
    }
    await this.commit(key, sink, written.size);
    return written;
  }

  async putText(key: string, body: string, _contentType: string): Promise<void> {
    const bytes = Buffer.from(body, 'utf8');
    const sink = new UploadSessionSink(this.client, this.chunkSize, (error) => this.failure('write', key, error));
    await streamInto(Readable.from([bytes]), sink, {}, (error) => error);
    await this.commit(key, sink, bytes.length);
  }

  /** Finishes the upload; a taken path is this file again (same content_hash) or a refusal. */
  private async commit(key: string, sink: UploadSessionSink, size: number): Promise<void> {
    let stored: { size: number; content_hash?: string };
    let sent: string;
    try {
      const committed = await sink.commit(this.path(key));
      stored = committed.metadata;
      sent = committed.contentHash;
    } catch (error) {
      if (errorSummary(error).includes('conflict')) {
        const existing = await this.metadata(key);
        if (existing && existing.size === size && existing.content_hash === sink.contentHash()) return;
        throw this.refusal(key);
      }
      throw this.failure('upload', key, error);
    }
    if (stored.size !== size || stored.content_hash !== sent) {
      await this.delete(key).catch(() => undefined);
      throw new ChecksumMismatchError(
        `${this.name}: sent ${size} bytes (content hash ${sent}), Dropbox stored ${stored.size} (content hash ${stored.content_hash}); the file was removed`,
      );
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const found = await this.metadata(key);
    return found ? { key, size: found.size } : undefined;
  }

  async get(key: string): Promise<Readable | undefined> {
    // By hand rather than through the SDK, which would hold the whole file in memory.
    let response: Response;
    try {
      const token = await this.client.accessToken();
      response = await this.client.fetch('https://content.dropboxapi.com/2/files/download', {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Dropbox-API-Arg': headerJson({ path: this.path(key) }) },
      });
    } catch (error) {
      throw this.failure('read', key, error);
    }
    if (response.status === 409) {
      const detail = (await response.json().catch(() => ({}))) as { error_summary?: string };
      if (detail.error_summary?.startsWith('path/not_found')) return undefined;
      throw new StorageError(`destination ${this.name} (${this.locate(key)}): cannot read: ${detail.error_summary}`);
    }
    if (!response.ok || !response.body) {
      throw this.failure('read', key, {
        name: 'DropboxResponseError',
        status: response.status,
        headers: response.headers,
        error: await response.text().catch(() => ''),
      });
    }
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const folder = slash >= 0 ? this.path(prefix.slice(0, slash)) : this.folder;
    let page: Awaited<ReturnType<typeof this.listPage>>;
    try {
      page = await this.listPage({ path: folder });
    } catch (error) {
      if (errorSummary(error).startsWith('path/not_found')) return;
      throw this.failure('list', prefix, error);
    }
    for (;;) {
      for (const entry of page.entries) {
        if (entry['.tag'] !== 'file' || !entry.path_display) continue;
        const key = this.keyOf(entry.path_display);
        if (key.startsWith(prefix)) yield { key, size: entry.size };
      }
      if (!page.has_more) return;
      const cursor = page.cursor;
      try {
        page = await this.listPage({ cursor });
      } catch (error) {
        throw this.failure('list', prefix, error);
      }
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.call((dbx) => dbx.filesDeleteV2({ path: this.path(key) }));
    } catch (error) {
      if (errorSummary(error).startsWith('path_lookup/not_found')) return;
      throw this.failure('delete', key, error);
    }
  }

  /** Nothing to close: a session is invisible until finished, and Dropbox expires it by itself. */
  async abortIncomplete(): Promise<number> {
    return 0;
  }

  private async listPage(from: { path: string } | { cursor: string }) {
    const page = await this.client.call((dbx) =>
      'cursor' in from
        ? dbx.filesListFolderContinue({ cursor: from.cursor })
        : dbx.filesListFolder({ path: from.path, recursive: true, limit: 2000 }),
    );
    return page as {
      entries: { '.tag': string; path_display?: string; size: number }[];
      cursor: string;
      has_more: boolean;
    };
  }

  private async metadata(key: string): Promise<{ size: number; content_hash?: string } | undefined> {
    try {
      const found = await this.client.call((dbx) => dbx.filesGetMetadata({ path: this.path(key) }));
      return found['.tag'] === 'file' ? (found as { size: number; content_hash?: string }) : undefined;
    } catch (error) {
      if (errorSummary(error).startsWith('path/not_found')) return undefined;
      throw this.failure('read', key, error);
    }
  }

  private path(key: string): string {
    return key === '' ? this.folder : `${this.folder}/${key}`;
  }

  private keyOf(pathDisplay: string): string {
    return pathDisplay.slice(this.folder.length + 1);
  }

  private refusal(key: string): ObjectExistsError {
    return new ObjectExistsError(
      `destination ${this.name}: a file already exists at ${this.locate(key)} and holds something else; nothing was replaced`,
    );
  }

  /** A failure that a person must fix (credentials, permissions, space) is a ConfigError; the rest may pass. */
  private failure(action: string, key: string, error: unknown): Error {
    const where = `destination ${this.name} (${this.locate(key)})`;
    const summary = errorSummary(error);
    const detail = summary || `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
    if (isApiError(error)) {
      const body =
        typeof error.error === 'object' ? (error.error as { error?: unknown; error_description?: string }) : {};
      if (body.error === 'invalid_grant' || body.error === 'invalid_client' || error.status === 401) {
        return new ConfigError(
          `${where}: cannot ${action}: Dropbox refused the app's credentials (${body.error_description ?? detail}); check appKey, appSecret and refreshToken of destinations.${this.name}`,
          { cause: error },
        );
      }
      if (
        /insufficient_space|no_write_permission|malformed_path|disallowed_name|team_folder|too_many_write_operations/.test(
          summary,
        )
      ) {
        const retryable = summary.includes('too_many_write_operations');
        const message = `${where}: cannot ${action}: ${summary}`;
        return retryable ? new StorageError(message, { cause: error }) : new ConfigError(message, { cause: error });
      }
      if (error.status === 400 || error.status === 403) {
        return new ConfigError(`${where}: cannot ${action}: Dropbox answered ${error.status}: ${detail}`, {
          cause: error,
        });
      }
    }
    return new StorageError(`${where}: cannot ${action}: ${detail}`, { cause: error });
  }
}

/** JSON for an HTTP header, as Dropbox asks: characters outside ASCII escaped. */
function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
