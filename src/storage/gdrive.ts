/**
 * A Google Drive folder as a destination (see gdrive/client.ts for the SDK and its auth). A key's
 * folders are found or created under the configured folder (gdrive/folders.ts), its file written
 * by a resumable upload (gdrive/resumable-upload.ts) with the metadata as appProperties, in shared
 * drives too (supportsAllDrives). What Drive reports it stored is held to the bytes sent: its
 * sha256Checksum, or its md5Checksum where it gives no SHA-256.
 *
 * Drive lets two files share a name in a folder, so "never replace" is kept by stepvault: a name
 * taken before the upload finishes is refused (or counted as stored when it holds the same
 * bytes), and of two writers that both finish, the later file removes itself.
 */
import { Readable } from 'node:stream';
import type { GdriveDestinationConfig } from '../config/schema.ts';
import { ChecksumMismatchError, ConfigError, ObjectExistsError, StorageError } from '../errors.ts';
import { type GdriveClient, reasonOf, statusOf } from './gdrive/client.ts';
import { type DriveFile, DriveFolders, FOLDER_MIME, quoted } from './gdrive/folders.ts';
import { httpError, ResumableUploadSink } from './gdrive/resumable-upload.ts';
import { putFileStreamed } from './put-file-streamed.ts';
import { discard, streamInto, throwIfAborted } from './stream-body.ts';
import type { ObjectInfo, PutFileOptions, PutStreamOptions, StorageProvider, StreamWritten } from './types.ts';

const MIB = 1024 * 1024;
const DEFAULT_CHUNK_MB = 16;

export class GdriveStorage implements StorageProvider {
  readonly type = 'gdrive';
  readonly name: string;
  private readonly folderId: string;
  private readonly chunkSize: number;
  private readonly client: GdriveClient;
  private readonly folders: DriveFolders;

  constructor(name: string, config: GdriveDestinationConfig, client: GdriveClient) {
    this.name = name;
    this.folderId = config.folderId;
    this.chunkSize = (config.chunkSizeMB ?? DEFAULT_CHUNK_MB) * MIB;
    this.client = client;
    this.folders = new DriveFolders(client, config.folderId);
  }

  locate(key: string): string {
    return `gdrive://${this.folderId}/${key}`;
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    await putFileStreamed(this, key, file, options);
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten> {
    const { folders, name } = split(key);
    let parent: string;
    try {
      // The folders first: credentials or a folder that are wrong fail before a byte is read.
      parent = (await this.folders.folder(folders, true))!;
    } catch (error) {
      discard(body);
      throw this.failure('upload', key, error);
    }
    const sink = new ResumableUploadSink(
      this.client,
      this.chunkSize,
      {
        name,
        parents: [parent],
        mimeType: options.contentType ?? 'application/octet-stream',
        appProperties: options.metadata,
      },
      (error) => this.failure('upload', key, error),
    );
    let written: StreamWritten;
    try {
      written = await streamInto(body, sink, options, (error) => error);
      await options.beforeCommit?.(written);
      throwIfAborted(options.signal);
    } catch (error) {
      discard(body);
      throw error;
    }
    const md5 = sink.md5Hex();
    const taken = await this.filesNamed(parent, name, key);
    if (taken.length > 0) {
      if (taken.some((f) => holds(f, written, md5))) return written;
      throw this.refusal(key);
    }
    let id: string;
    try {
      id = await sink.commit();
    } catch (error) {
      throw this.failure('upload', key, error);
    }
    await this.keepFirst(parent, name, key, id, written, md5);
    return written;
  }

  async putText(key: string, body: string, contentType: string): Promise<void> {
    await this.putStream(key, Readable.from([Buffer.from(body, 'utf8')]), { metadata: {}, contentType });
  }

  /**
   * After the upload: the file must hold what was sent, and be the only one of its name. Of two
   * writers that raced, the file created later (then the greater id) removes itself.
   */
  private async keepFirst(
    parent: string,
    name: string,
    key: string,
    id: string,
    written: StreamWritten,
    md5: string,
  ): Promise<void> {
    const same = await this.filesNamed(parent, name, key);
    const mine = same.find((f) => f.id === id);
    if (!mine || !holds(mine, written, md5)) {
      await this.remove(id);
      throw new ChecksumMismatchError(
        `${this.name}: sent ${written.size} bytes (SHA-256 ${written.sha256}, MD5 ${md5}), Drive reports ${mine?.size ?? 'nothing'} bytes (SHA-256 ${mine?.sha256Checksum ?? '-'}, MD5 ${mine?.md5Checksum ?? '-'}); the file was removed`,
      );
    }
    const first = [...same].sort(
      (a, b) => (a.createdTime ?? '').localeCompare(b.createdTime ?? '') || (a.id ?? '').localeCompare(b.id ?? ''),
    )[0]!;
    if (first.id === id) return;
    await this.remove(id);
    if (!holds(first, written, md5)) throw this.refusal(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = await this.find(key);
    return file ? { key, size: Number(file.size ?? 0) } : undefined;
  }

  async get(key: string): Promise<Readable | undefined> {
    const file = await this.find(key);
    if (!file?.id) return undefined;
    let response: Response;
    try {
      response = await this.client.request(
        `${this.client.root}drive/v3/files/${encodeURIComponent(file.id)}?alt=media&supportsAllDrives=true`,
      );
      if (response.status === 404) return undefined;
      if (!response.ok || !response.body) throw httpError(response, await response.text(), 'download');
    } catch (error) {
      throw this.failure('read', key, error);
    }
    return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const parts = prefix.split('/');
    const start = parts.slice(0, -1);
    let found: ObjectInfo[];
    try {
      const id = await this.folders.folder(start, false);
      if (!id) return;
      found = [];
      await this.walk(id, start, found);
    } catch (error) {
      throw this.failure('list', prefix, error);
    }
    for (const object of found) if (object.key.startsWith(prefix)) yield object;
  }

  private async walk(id: string, path: string[], into: ObjectInfo[]): Promise<void> {
    for (const item of await this.folders.children(id)) {
      if (!item.id || !item.name) continue;
      if (item.mimeType === FOLDER_MIME) await this.walk(item.id, [...path, item.name], into);
      else into.push({ key: [...path, item.name].join('/'), size: Number(item.size ?? 0) });
    }
  }

  async delete(key: string): Promise<void> {
    const file = await this.find(key).catch((error: unknown) => {
      throw this.failure('delete', key, error);
    });
    if (!file?.id) return;
    try {
      await this.remove(file.id);
    } catch (error) {
      throw this.failure('delete', key, error);
    }
  }

  /** Nothing to close: an unfinished resumable upload makes no file and expires by itself. */
  async abortIncomplete(): Promise<number> {
    return 0;
  }

  private async remove(id: string): Promise<void> {
    try {
      await this.client.call((drive) => drive.files.delete({ fileId: id, supportsAllDrives: true }));
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  private async find(key: string): Promise<DriveFile | undefined> {
    const { folders, name } = split(key);
    try {
      const parent = await this.folders.folder(folders, false);
      if (!parent) return undefined;
      return (await this.filesNamed(parent, name, key))[0];
    } catch (error) {
      if (error instanceof ConfigError || error instanceof StorageError) throw error;
      throw this.failure('read', key, error);
    }
  }

  private async filesNamed(parent: string, name: string, key: string): Promise<DriveFile[]> {
    try {
      return await this.folders.children(parent, `name = ${quoted(name)} and mimeType != '${FOLDER_MIME}'`);
    } catch (error) {
      throw this.failure('read', key, error);
    }
  }

  private refusal(key: string): ObjectExistsError {
    return new ObjectExistsError(
      `destination ${this.name}: a file already exists at ${this.locate(key)} and holds something else; nothing was replaced`,
    );
  }

  private failure(action: string, key: string, error: unknown): Error {
    if (error instanceof ConfigError || error instanceof StorageError || error instanceof ChecksumMismatchError)
      return error;
    const where = `destination ${this.name} (${this.locate(key)})`;
    const status = statusOf(error);
    const reason = reasonOf(error);
    const detail = `${status ? `HTTP ${status} ` : ''}${reason ? `${reason}: ` : ''}${(error as Error)?.message ?? String(error)}`;
    const name = (error as { name?: string })?.name;
    if (
      name === 'KeyError' ||
      reason === 'invalid_grant' ||
      reason === 'invalid_client' ||
      status === 401 ||
      (status === 403 && !/rateLimitExceeded|userRateLimitExceeded/.test(reason))
    ) {
      return new ConfigError(
        `${where}: cannot ${action}: Google refused the credentials or the access (${detail}); check the key or OAuth client of destinations.${this.name} and that folder ${this.folderId} is shared with it`,
        { cause: error },
      );
    }
    if (status === 404 && reason === 'notFound' && (error as Error)?.message?.includes(this.folderId)) {
      return new ConfigError(
        `${where}: folder ${this.folderId} does not exist or is not shared with these credentials; fix destinations.${this.name}.folderId`,
        { cause: error },
      );
    }
    return new StorageError(`${where}: cannot ${action}: ${detail}`, { cause: error });
  }
}

function split(key: string): { folders: string[]; name: string } {
  const parts = key.split('/');
  return { folders: parts.slice(0, -1), name: parts.at(-1)! };
}

/** Whether a stored file holds these bytes, by Drive's SHA-256, else its MD5. */
function holds(file: DriveFile, written: StreamWritten, md5: string): boolean {
  if (Number(file.size ?? -1) !== written.size) return false;
  if (file.sha256Checksum) return file.sha256Checksum === written.sha256;
  return file.md5Checksum === md5;
}
