/**
 * A folder as a destination: a mounted disk, an NFS share, or ./backups when trying stepvault.
 * Objects are written under a temporary name, flushed to disk, checked and then renamed, so a
 * reader never sees half a file under a real key.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FilesystemDestinationConfig } from '../config/schema.ts';
import { ChecksumMismatchError, ConfigError, StorageError } from '../errors.ts';
import { DigestStream } from '../dumpers/stream.ts';
import type { ObjectInfo, PutFileOptions, StorageProvider } from './types.ts';

const PARTIAL_MARK = '.partial-';

/** Errors no retry will fix: the path itself is wrong. */
const PERMANENT_CODES = new Set(['ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'EISDIR', 'EEXIST']);

export class FilesystemStorage implements StorageProvider {
  readonly type = 'filesystem';
  readonly name: string;
  private readonly root: string;

  constructor(name: string, config: FilesystemDestinationConfig) {
    this.name = name;
    this.root = path.resolve(config.path);
  }

  locate(key: string): string {
    return this.pathOf(key);
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    const target = this.pathOf(key);
    await this.writeAtomically(target, async (partial) => {
      const digest = new DigestStream();
      await pipeline(createReadStream(file), digest, createWriteStream(partial, { flush: true }));
      const sha256 = digest.hex();
      if (sha256 !== options.sha256 || digest.bytes !== options.size) {
        throw new ChecksumMismatchError(
          `${this.name}: stored ${digest.bytes} bytes with SHA-256 ${sha256}, expected ${options.size} bytes with ${options.sha256}`,
        );
      }
    });
  }

  async putText(key: string, body: string): Promise<void> {
    await this.writeAtomically(this.pathOf(key), (partial) => writeFile(partial, body, { flush: true }));
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw this.failure('read', key, error);
    }
  }

  async get(key: string): Promise<Readable | undefined> {
    if (!(await this.head(key))) return undefined;
    return createReadStream(this.pathOf(key));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(this.root, { recursive: true, withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.failure('list', prefix, error);
    }
    const keys = entries
      .filter((e) => e.isFile() && !e.name.includes(PARTIAL_MARK))
      .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .filter((key) => key.startsWith(prefix))
      .sort();
    for (const key of keys) {
      const info = await this.head(key);
      if (info) yield info;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw this.failure('delete', key, error);
    }
  }

  private async writeAtomically(target: string, write: (partial: string) => Promise<void>): Promise<void> {
    const partial = `${target}${PARTIAL_MARK}${randomBytes(4).toString('hex')}`;
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await write(partial);
      await rename(partial, target);
      await syncFolder(path.dirname(target));
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      if (error instanceof ChecksumMismatchError) throw error;
      throw this.failure('write', path.relative(this.root, target), error);
    }
  }

  private pathOf(key: string): string {
    const resolved = path.resolve(this.root, key);
    if (!resolved.startsWith(this.root + path.sep)) throw new ConfigError(`${this.name}: key "${key}" leaves the destination folder`);
    return resolved;
  }

  private failure(action: string, key: string, error: unknown): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const message = `destination ${this.name}: cannot ${action} ${key} under ${this.root} (${code || (error as Error).message})`;
    if (PERMANENT_CODES.has(code)) return new ConfigError(`${message}; check destinations.${this.name}.path`, { cause: error });
    return new StorageError(message, { cause: error });
  }
}

/** A rename is durable only once the folder that holds it is flushed too. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
