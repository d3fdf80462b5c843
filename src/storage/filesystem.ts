/**
 * A folder as a destination: a mounted disk, an NFS share, or ./backups when trying stepvault.
 * Objects are written under a temporary name, flushed to disk, checked and then linked to their
 * real name: link() fails when the name is taken (unlike rename, which replaces), so a publish
 * never replaces what is there, and a reader never sees half a file under a real key.
 * Files are owner-only (0600 in 0700 folders) unless the destination's `mode` says otherwise.
 */
import { constants, createReadStream, createWriteStream, type Dirent } from 'node:fs';
import { chmod, copyFile, link, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FilesystemDestinationConfig } from '../config/schema.ts';
import { ChecksumMismatchError, ConfigError, ObjectExistsError, StorageError } from '../errors.ts';
import { copyFileHashing, hashFile } from './file-copy.ts';
import { folderMode, parseFileMode } from './file-mode.ts';
import { refusePseudoFilesystem } from './pseudo-filesystem.ts';
import { discard, streamInto, throwIfAborted } from './stream-body.ts';
import type { ObjectInfo, PutFileOptions, PutStreamOptions, StorageProvider, StreamWritten } from './types.ts';

const PARTIAL_MARK = '.partial-';

/**
 * Where a share cannot make hard links (SMB/CIFS without unix extensions, FAT, some FUSE mounts),
 * the finished file is copied to its name with O_EXCL instead: still never a replacement, but the
 * name exists while the copy runs. A dump is a backup only once its manifest is there, so a reader
 * that goes by manifests never takes a half-copied dump for one.
 */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

export interface FilesystemOperations {
  link(existing: string, name: string): Promise<void>;
}

/** Errors no retry will fix: the path itself is wrong (EEXIST: a file where a folder should be). */
const PERMANENT_CODES = new Set(['ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'EISDIR', 'EEXIST']);

export class FilesystemStorage implements StorageProvider {
  readonly type = 'filesystem';
  readonly name: string;
  private readonly root: string;
  private readonly fileMode: number;
  private readonly folderMode: number;
  private rootChecked: Promise<void> | undefined;

  private readonly operations: FilesystemOperations;

  /** `operations` replaces the file system calls a test needs to fail (a share without hard links). */
  constructor(name: string, config: FilesystemDestinationConfig, operations: FilesystemOperations = { link }) {
    this.name = name;
    this.operations = operations;
    this.root = path.resolve(config.path);
    this.fileMode = parseFileMode(config.mode);
    this.folderMode = folderMode(this.fileMode);
  }

  locate(key: string): string {
    return this.pathOf(key);
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    const target = this.pathOf(key);
    await this.publish(
      key,
      target,
      async (partial) => {
        const progress = { ...(options.onProgress && { onProgress: options.onProgress }), totalBytes: options.size };
        const copied = (await this.linkStaged(file, partial))
          ? await hashFile(partial, { ...progress, sync: true })
          : await copyFileHashing(file, partial, { mode: this.fileMode, ...progress });
        if (copied.sha256 !== options.sha256 || copied.bytes !== options.size) {
          throw new ChecksumMismatchError(
            `${this.name}: stored ${copied.bytes} bytes with SHA-256 ${copied.sha256}, expected ${options.size} bytes with ${options.sha256}`,
          );
        }
      },
      // The same bytes already there: this run's own earlier attempt, stored before it failed.
      async () => {
        const existing = await hashFile(target);
        return existing.bytes === options.size && existing.sha256 === options.sha256;
      },
    );
  }

  /**
   * A staged dump on the same file system as the folder becomes the partial file by a hard link,
   * not a copy: a 134 MB dump took 0.2–0.45 s to copy and flush, and a link then a read to hash it
   * (from the page cache) and a flush of what the copy would have flushed takes a third of that.
   * The bytes are still hashed as they are stored under the partial name. The link is kept only
   * where it is the file's one other name (two links: the staged one and this): a second folder
   * destination on the same disk, in this process or in another Upload beside it, sees three and
   * copies instead, so that its `mode` cannot change the first one's file. False where no link can
   * be made (another file system: EXDEV; a share without hard links); then the file is copied.
   */
  private async linkStaged(file: string, partial: string): Promise<boolean> {
    try {
      await this.operations.link(file, partial);
    } catch {
      return false;
    }
    // Counted after linking, not before: two Uploads that both counted one link first would both link.
    if ((await stat(partial)).nlink === 2) return true;
    await rm(partial, { force: true });
    return false;
  }

  /**
   * The body goes into a partial file opened O_EXCL beside its name, flushed to disk; once
   * beforeCommit has passed it is linked into place like any other write.
   */
  async putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten> {
    let written: StreamWritten | undefined;
    try {
      const target = this.pathOf(key);
      await this.publish(
        key,
        target,
        async (partial) => {
          try {
            const file = createWriteStream(partial, { flush: true, flags: 'wx', mode: this.fileMode });
            written = await streamInto(body, file, options, (error) => this.failure('write', key, error));
            await options.beforeCommit?.(written);
            throwIfAborted(options.signal);
          } catch (error) {
            throw new Settled(error);
          }
        },
        async () => {
          const existing = await hashFile(target);
          return written !== undefined && existing.bytes === written.size && existing.sha256 === written.sha256;
        },
      );
    } finally {
      discard(body);
    }
    return written!;
  }

  async putText(key: string, body: string): Promise<void> {
    const target = this.pathOf(key);
    await this.publish(
      key,
      target,
      (partial) => writeFile(partial, body, { flush: true, flag: 'wx', mode: this.fileMode }),
      async () => (await readFile(target, 'utf8')) === body,
    );
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
    await this.checkRoot();
    let entries: Dirent[];
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

  /**
   * Removes the partial files of this key that a write interrupted for good left behind (a
   * process killed mid-write skips its own `finally`); they are never listed, but they fill the disk.
   */
  async abortIncomplete(key: string): Promise<number> {
    const target = this.pathOf(key);
    const mark = `${path.basename(target)}${PARTIAL_MARK}`;
    let removed = 0;
    try {
      const names = await readdir(path.dirname(target)).catch((error: unknown) => {
        if (isMissing(error)) return [] as string[];
        throw error;
      });
      for (const name of names.filter((n) => n.startsWith(mark))) {
        await rm(path.join(path.dirname(target), name), { force: true });
        removed++;
      }
    } catch (error) {
      throw this.failure('remove the partial files of', key, error);
    }
    return removed;
  }

  /**
   * Writes a partial file, then links it to its name. A name already taken is left alone: if
   * `isSame` says it holds what we were writing, that counts as stored; otherwise it is refused.
   */
  private async publish(
    key: string,
    target: string,
    write: (partial: string) => Promise<void>,
    isSame: () => Promise<boolean>,
  ): Promise<void> {
    await this.checkRoot();
    const partial = `${target}${PARTIAL_MARK}${randomBytes(4).toString('hex')}`;
    let taken = false;
    try {
      await mkdir(path.dirname(target), { recursive: true, mode: this.folderMode });
      await write(partial);
      // The umask may have taken bits the config asked for; the mode is the config's, exactly.
      await chmod(partial, this.fileMode);
      taken = !(await this.linkOrCopy(partial, target));
      if (!taken) await syncFolder(path.dirname(target));
    } catch (error) {
      if (error instanceof Settled) throw error.error;
      if (error instanceof ChecksumMismatchError) throw error;
      throw this.failure('write', key, error);
    } finally {
      await rm(partial, { force: true }).catch(() => undefined);
    }
    if (taken && !(await isSame().catch(() => false))) {
      throw new ObjectExistsError(
        `destination ${this.name}: ${target} already exists and holds something else; nothing was replaced`,
      );
    }
  }

  /** Gives the finished partial file its name unless the name is taken (then false). */
  private async linkOrCopy(partial: string, target: string): Promise<boolean> {
    try {
      await this.operations.link(partial, target);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (code === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(code)) throw error;
    }
    try {
      await copyFile(partial, target, constants.COPYFILE_EXCL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      await rm(target, { force: true }).catch(() => undefined);
      throw error;
    }
    await chmod(target, this.fileMode);
    const handle = await open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  }

  /** Once per process: a pseudo-filesystem (/proc) as a destination is a config error, found quickly. */
  private checkRoot(): Promise<void> {
    this.rootChecked ??= refusePseudoFilesystem(this.root, `destinations.${this.name}.path`);
    return this.rootChecked;
  }

  private pathOf(key: string): string {
    const resolved = path.resolve(this.root, key);
    if (!resolved.startsWith(this.root + path.sep))
      throw new ConfigError(`${this.name}: key "${key}" leaves the destination folder`);
    return resolved;
  }

  private failure(action: string, key: string, error: unknown): Error {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const message = `destination ${this.name}: cannot ${action} ${key} under ${this.root} (${code || (error as Error).message})`;
    if (PERMANENT_CODES.has(code))
      return new ConfigError(`${message}; check destinations.${this.name}.path`, { cause: error });
    return new StorageError(message, { cause: error });
  }
}

/** An error the write already named (or the caller's own): publish passes it on as it is. */
class Settled {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** A link is durable only once the folder that holds it is flushed too. */
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
