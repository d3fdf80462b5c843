/**
 * Objects kept in this process's memory: a destination for unit tests, which need a store that
 * keeps the storage contract (src/storage/types.ts) but no disk, server or network. Not part of
 * the config file's schema: a backup that ends with the process is not a backup. Tests name it
 * in a config they build themselves (`{ type: 'memory' }`, see `memoryDestination`).
 *
 * Each destination of each config has its store, which lives as long as the process; a
 * `readOnly` store refuses every write as a destination that cannot be written (a ConfigError),
 * so the error paths of the steps can be tested too.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import type { DestinationConfig } from '../config/schema.ts';
import { ChecksumMismatchError, ConfigError, ObjectExistsError, StorageError } from '../errors.ts';
import { discard, streamInto, throwIfAborted } from './stream-body.ts';
import type { ObjectInfo, PutFileOptions, PutStreamOptions, StorageProvider, StreamWritten } from './types.ts';

export interface MemoryDestinationConfig {
  type: 'memory';
  prefix?: string;
  required?: boolean;
  readOnly?: boolean;
}

/** A memory destination as a config's `destinations` entry (the schema has no such type). */
export function memoryDestination(options: Omit<MemoryDestinationConfig, 'type'> = {}): DestinationConfig {
  return { type: 'memory', ...options } as unknown as DestinationConfig;
}

export function isMemoryDestination(destination: unknown): destination is MemoryDestinationConfig {
  return (destination as { type?: unknown } | undefined)?.type === 'memory';
}

interface StoredObject {
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

const stores = new Map<string, Map<string, StoredObject>>();

export class MemoryStorage implements StorageProvider {
  readonly type = 'memory';
  readonly name: string;
  private readonly objects: Map<string, StoredObject>;
  private readonly readOnly: boolean;

  /** `store` names the store: the same name, the same objects, for the life of the process. */
  constructor(name: string, config: MemoryDestinationConfig, store: string) {
    this.name = name;
    this.readOnly = config.readOnly ?? false;
    const objects = stores.get(store) ?? new Map();
    stores.set(store, objects);
    this.objects = objects;
  }

  locate(key: string): string {
    return `memory://${this.name}/${key}`;
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    this.checkWritable(key);
    let body: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of createReadStream(file)) chunks.push(chunk as Buffer);
      body = Buffer.concat(chunks);
      options.onProgress?.({ bytes: body.length, totalBytes: options.size });
    } catch (error) {
      throw new StorageError(
        `destination ${this.name}: cannot read ${file} to store ${key} (${(error as Error).message})`,
        { cause: error },
      );
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== options.sha256 || body.length !== options.size) {
      throw new ChecksumMismatchError(
        `${this.name}: stored ${body.length} bytes with SHA-256 ${sha256}, expected ${options.size} bytes with ${options.sha256}`,
      );
    }
    this.publish(key, {
      body,
      contentType: options.contentType ?? 'application/octet-stream',
      metadata: { ...options.metadata },
    });
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten> {
    try {
      this.checkWritable(key);
    } catch (error) {
      discard(body);
      throw error;
    }
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const written = await streamInto(
      body,
      sink,
      options,
      (error) =>
        new StorageError(`destination ${this.name}: cannot store ${key} (${(error as Error).message})`, {
          cause: error,
        }),
    );
    await options.beforeCommit?.(written);
    throwIfAborted(options.signal);
    this.publish(key, {
      body: Buffer.concat(chunks),
      contentType: options.contentType ?? 'application/octet-stream',
      metadata: { ...options.metadata },
    });
    return written;
  }

  async putText(key: string, body: string, contentType: string): Promise<void> {
    this.checkWritable(key);
    this.publish(key, { body: Buffer.from(body, 'utf8'), contentType, metadata: {} });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const object = this.objects.get(key);
    return object ? { key, size: object.body.length } : undefined;
  }

  async get(key: string): Promise<Readable | undefined> {
    const object = this.objects.get(key);
    return object ? Readable.from([object.body]) : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // A snapshot: deleting while listing (as Prune does) neither skips nor repeats a key.
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    for (const key of keys) {
      const object = this.objects.get(key);
      if (object) yield { key, size: object.body.length };
    }
  }

  async delete(key: string): Promise<void> {
    this.checkWritable(key);
    this.objects.delete(key);
  }

  /** A write here is one synchronous step: nothing is ever left half-written. */
  async abortIncomplete(): Promise<number> {
    return 0;
  }

  /** The metadata an object was stored with (tests read it as they would S3's). */
  metadata(key: string): Record<string, string> | undefined {
    return this.objects.get(key)?.metadata;
  }

  /**
   * Checks the key and stores in one synchronous step, so that of two writers racing for a key
   * exactly one wins. The same bytes again count as stored (a retry of the same upload).
   */
  private publish(key: string, object: StoredObject): void {
    const existing = this.objects.get(key);
    if (existing) {
      if (existing.body.equals(object.body)) return;
      throw new ObjectExistsError(
        `destination ${this.name}: ${this.locate(key)} already exists and holds something else; nothing was replaced`,
      );
    }
    this.objects.set(key, object);
  }

  private checkWritable(key: string): void {
    if (this.readOnly) throw new ConfigError(`destination ${this.name}: cannot write ${key}: the store is read-only`);
  }
}
