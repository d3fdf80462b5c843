/**
 * Copies between destinations (src/storage/copy.ts): inside one S3 store the server copies
 * (counted on the test server: copies made there, no object read through the client), between
 * other destinations the bytes stream through and are held to the dump's size and SHA-256. In
 * every case a taken key is never replaced, and a refused copy leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/load.ts';
import type { DestinationConfig } from '../src/config/schema.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { copyBetween } from '../src/storage/copy.ts';
import { memoryDestination } from '../src/storage/memory.ts';
import { storageFor } from '../src/storage/registry.ts';
import { S3Storage } from '../src/storage/s3.ts';
import type { StorageProvider, StreamWritten } from '../src/storage/types.ts';
import { S3RVER_KEY, s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';

const MIB = 1024 * 1024;
let folder: string;
let s3: S3TestServer;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'stepvault-copy-'));
  s3 = await startS3Server(['first', 'second', 'third']);
});

afterAll(async () => {
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

function destination(name: string, settings: Record<string, unknown>): Promise<StorageProvider> {
  const config: Config = {
    source: 'copy-test',
    targets: {},
    destinations: { [name]: settings as DestinationConfig },
    notifications: {},
  };
  return storageFor(config, name, new SecretResolver());
}

const bucket = (name: string) => destination(name, s3Destination(s3, name, { partSizeMB: 5 }));
const disk = (name: string) => destination(name, { type: 'filesystem', path: path.join(folder, name) });

/**
 * An S3 destination on the test server whose copies turn multipart above 8 MiB, in 5 MiB parts;
 * `kind: 'aws'` makes it trust If-None-Match on CopyObject as AWS S3 does.
 */
function bucketWith(name: string, settings: { kind?: 'aws' | 'compatible'; conditionalWrites?: boolean }): S3Storage {
  return new S3Storage({
    name,
    type: 's3',
    profile: {
      kind: settings.kind ?? 'compatible',
      bucket: name,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      checksums: false,
      conditionalWrites: settings.conditionalWrites ?? true,
    },
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    partSizeMB: 5,
    copyLimits: { singleCopyMax: 8 * MIB, partSize: 5 * MIB },
  });
}

/** Stores random bytes under the key, as the first destination gets the dump, and says what they were. */
async function stored(storage: StorageProvider, key: string, size: number): Promise<StreamWritten> {
  return storage.putStream(key, Readable.from([randomBytes(size)]), { metadata: {} });
}

async function sha256Of(storage: StorageProvider, key: string): Promise<string> {
  return createHash('sha256')
    .update(await buffer((await storage.get(key))!))
    .digest('hex');
}

async function serverCounts() {
  return {
    copies: await s3.copies('second'),
    reads: await s3.objectReads('first'),
    parts: await s3.partsStored(),
  };
}

describe('copies inside one S3 store', () => {
  it('are made by the server: no byte read through stepvault, size checked, SHA-256 kept and recorded', async () => {
    const [first, second] = [await bucket('first'), await bucket('second')];
    const dump = await stored(first, 'runs/a.dump', 7 * MIB);
    const before = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    const result = await copyBetween(
      { storage: first, key: 'runs/a.dump' },
      { storage: second, key: 'offsite/runs/a.dump' },
      dump,
      { metadata: { run: 'r1' } },
    );
    expect(result).toEqual({
      ...dump,
      method: 'server-side',
      checked: "size (the store copied the bytes itself; the SHA-256 is the source's)",
    });
    const after = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    // A compatible store may not honour If-None-Match on CopyObject: one part copy, then a
    // CompleteMultipartUpload that carries it.
    expect(after.copies).toEqual({ objects: before.copies.objects, parts: before.copies.parts + 1 });
    expect(after.writes.conditional - before.writes.conditional).toBe(1);
    expect(after.writes.unconditional - before.writes.unconditional).toBe(0);
    expect(after.reads - before.reads).toBe(0);
    expect(after.parts - before.parts).toBe(0);
    expect(await sha256Of(second, 'offsite/runs/a.dump')).toBe(dump.sha256);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'second', Key: 'offsite/runs/a.dump' }));
    expect(head.Metadata).toMatchObject({ run: 'r1', sha256: dump.sha256 });
    expect(await s3.openMultipartUploads('second')).toEqual([]);
  });

  it('on AWS up to the single-copy limit: one CopyObject with If-None-Match', async () => {
    const [first, second] = [await bucket('first'), bucketWith('second', { kind: 'aws' })];
    const dump = await stored(first, 'runs/aws.dump', 7 * MIB);
    const before = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    await copyBetween({ storage: first, key: 'runs/aws.dump' }, { storage: second, key: 'runs/aws.dump' }, dump);
    const after = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    expect(after.copies).toEqual({ objects: before.copies.objects + 1, parts: before.copies.parts });
    expect(after.writes.conditional - before.writes.conditional).toBe(1);
    expect(after.reads - before.reads).toBe(0);
    expect(await sha256Of(second, 'runs/aws.dump')).toBe(dump.sha256);
  });

  it('above the single-copy limit are a multipart upload of part copies, completed only if the key is free', async () => {
    const first = await bucket('first');
    const second = bucketWith('second', { kind: 'aws' });
    const dump = await stored(first, 'runs/large.dump', 12 * MIB);
    const before = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    const progress: number[] = [];
    const result = await copyBetween(
      { storage: first, key: 'runs/large.dump' },
      { storage: second, key: 'runs/large.dump' },
      dump,
      { onProgress: (p) => progress.push(p.bytes!) },
    );
    expect(result.method).toBe('server-side');
    const after = { ...(await serverCounts()), writes: await s3.objectWrites('second') };
    expect(after.copies).toEqual({ objects: before.copies.objects, parts: before.copies.parts + 3 });
    expect(after.reads - before.reads).toBe(0);
    expect(after.writes.conditional - before.writes.conditional).toBe(1);
    // One report per part, in bytes copied so far (parts finish in any order).
    expect(progress).toHaveLength(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(12 * MIB);
    expect(await sha256Of(second, 'runs/large.dump')).toBe(dump.sha256);
    expect(await s3.openMultipartUploads('second')).toEqual([]);
  });

  it('never replace: another object under the key is refused and stays; the same copy again counts as stored', async () => {
    const [first, second] = [await bucket('first'), await bucket('second')];
    const dump = await stored(first, 'runs/b.dump', 6 * MIB);
    const other = await stored(second, 'taken/b.dump', 6 * MIB);
    await expect(
      copyBetween({ storage: first, key: 'runs/b.dump' }, { storage: second, key: 'taken/b.dump' }, dump),
    ).rejects.toMatchObject({
      name: 'ObjectExistsError',
      message:
        'destination second: an object already exists at s3://second/taken/b.dump and holds something else; nothing was replaced',
    });
    expect(await sha256Of(second, 'taken/b.dump')).toBe(other.sha256);
    await copyBetween({ storage: first, key: 'runs/b.dump' }, { storage: second, key: 'runs/b.dump' }, dump);
    await expect(
      copyBetween({ storage: first, key: 'runs/b.dump' }, { storage: second, key: 'runs/b.dump' }, dump),
    ).resolves.toMatchObject({ method: 'server-side' });
  });

  it('into a store without conditional writes: a HEAD first refuses a taken key, then a plain CopyObject', async () => {
    const [first, third] = [await bucket('first'), bucketWith('third', { conditionalWrites: false })];
    const dump = await stored(first, 'runs/u.dump', 4 * MIB);
    const other = await stored(third, 'taken/u.dump', 4 * MIB);
    const before = await s3.objectWrites('third');
    const copiesBefore = await s3.copies('third');
    await expect(
      copyBetween({ storage: first, key: 'runs/u.dump' }, { storage: third, key: 'taken/u.dump' }, dump),
    ).rejects.toMatchObject({ name: 'ObjectExistsError' });
    expect(await s3.objectWrites('third')).toEqual(before);
    expect(await sha256Of(third, 'taken/u.dump')).toBe(other.sha256);
    await copyBetween({ storage: first, key: 'runs/u.dump' }, { storage: third, key: 'runs/u.dump' }, dump);
    await expect(
      copyBetween({ storage: first, key: 'runs/u.dump' }, { storage: third, key: 'runs/u.dump' }, dump),
    ).resolves.toMatchObject({ method: 'server-side' });
    expect((await s3.objectWrites('third')).unconditional - before.unconditional).toBe(1);
    expect((await s3.copies('third')).objects - copiesBefore.objects).toBe(1);
  });

  it('aborted midway: an AbortError, no object and no open upload', async () => {
    const [first, second] = [await bucket('first'), bucketWith('second', { kind: 'aws' })];
    const dump = await stored(first, 'runs/abort.dump', 12 * MIB);
    const controller = new AbortController();
    await expect(
      copyBetween({ storage: first, key: 'runs/abort.dump' }, { storage: second, key: 'runs/abort.dump' }, dump, {
        signal: controller.signal,
        onProgress: () => controller.abort(new Error('SIGTERM')),
      }),
    ).rejects.toMatchObject({ name: 'AbortError', message: 'the write was aborted (SIGTERM)' });
    expect(await second.head('runs/abort.dump')).toBeUndefined();
    expect(await s3.openMultipartUploads('second')).toEqual([]);
  });

  it('of an empty object stream it (no range to copy), and still never replace', async () => {
    const [first, second] = [await bucket('first'), await bucket('second')];
    const dump = await stored(first, 'runs/empty.dump', 0);
    const result = await copyBetween(
      { storage: first, key: 'runs/empty.dump' },
      { storage: second, key: 'runs/empty.dump' },
      dump,
    );
    expect(result).toMatchObject({ method: 'streamed', size: 0 });
    expect(await second.head('runs/empty.dump')).toEqual({ key: 'runs/empty.dump', size: 0 });
    await stored(second, 'taken/empty.dump', 1);
    await expect(
      copyBetween({ storage: first, key: 'runs/empty.dump' }, { storage: second, key: 'taken/empty.dump' }, dump),
    ).rejects.toMatchObject({ name: 'ObjectExistsError' });
  });

  it('refuse a source that is not the dump, before copying anything', async () => {
    const [first, second] = [await bucket('first'), await bucket('second')];
    const dump = await stored(first, 'runs/c.dump', 3 * MIB);
    const before = await serverCounts();
    await expect(
      copyBetween(
        { storage: first, key: 'runs/c.dump' },
        { storage: second, key: 'runs/c.dump' },
        { size: dump.size + 1, sha256: dump.sha256 },
      ),
    ).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `cannot copy runs/c.dump from destination first to second: it holds ${3 * MIB} bytes, expected ${3 * MIB + 1} bytes with ${dump.sha256}; nothing was copied`,
    });
    expect((await serverCounts()).copies).toEqual(before.copies);
    expect(await second.head('runs/c.dump')).toBeUndefined();
  });

  it('say so when the source is missing', async () => {
    const [first, second] = [await bucket('first'), await bucket('second')];
    await expect(
      copyBetween(
        { storage: first, key: 'runs/never.dump' },
        { storage: second, key: 'runs/never.dump' },
        { size: 1, sha256: '0'.repeat(64) },
      ),
    ).rejects.toMatchObject({
      name: 'StorageError',
      message:
        'cannot copy runs/never.dump from destination first to second: s3://first/runs/never.dump does not exist',
    });
  });
});

describe('copies the bytes pass through', () => {
  it('S3 to a folder, and a folder to S3: streamed, size and SHA-256 checked, recorded in the metadata', async () => {
    const [first, folderCopy, third] = [await bucket('first'), await disk('copies'), await bucket('third')];
    const dump = await stored(first, 'runs/d.dump', 13 * MIB);
    const toDisk = await copyBetween(
      { storage: first, key: 'runs/d.dump' },
      { storage: folderCopy, key: 'runs/d.dump' },
      dump,
    );
    expect(toDisk).toEqual({ ...dump, method: 'streamed', checked: 'size and SHA-256 of the bytes copied' });
    expect(await sha256Of(folderCopy, 'runs/d.dump')).toBe(dump.sha256);
    const before = await s3.copies('third');
    const toS3 = await copyBetween(
      { storage: folderCopy, key: 'runs/d.dump' },
      { storage: third, key: 'runs/d.dump' },
      dump,
    );
    expect(toS3.method).toBe('streamed');
    expect(await s3.copies('third')).toEqual(before);
    expect(await sha256Of(third, 'runs/d.dump')).toBe(dump.sha256);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'third', Key: 'runs/d.dump' }));
    expect(head.Metadata?.sha256).toBe(dump.sha256);
  });

  it('S3 to S3 with other credentials or another endpoint: streamed, the server makes no copy', async () => {
    const first = await bucket('first');
    // The same server under another name: the client cannot tell it is the same store.
    const elsewhere = await destination(
      'elsewhere',
      s3Destination(s3, 'second', { endpoint: s3.endpoint.replace('127.0.0.1', 'localhost') }),
    );
    const dump = await stored(first, 'runs/e.dump', 6 * MIB);
    const before = await s3.copies('second');
    const result = await copyBetween(
      { storage: first, key: 'runs/e.dump' },
      { storage: elsewhere, key: 'runs/e.dump' },
      dump,
    );
    expect(result.method).toBe('streamed');
    expect(await s3.copies('second')).toEqual(before);
  });

  it('refuse bytes that are not the dump, and leave nothing (no object, no open upload)', async () => {
    const [source, third] = [await disk('mismatch'), await bucket('third')];
    const dump = await stored(source, 'runs/f.dump', 12 * MIB);
    const wrong = { size: dump.size, sha256: 'f'.repeat(64) };
    await expect(
      copyBetween({ storage: source, key: 'runs/f.dump' }, { storage: third, key: 'runs/f.dump' }, wrong),
    ).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `cannot copy runs/f.dump from destination mismatch to third: read ${12 * MIB} bytes with SHA-256 ${dump.sha256}, expected ${12 * MIB} bytes with ${'f'.repeat(64)}; nothing was stored`,
    });
    expect(await third.head('runs/f.dump')).toBeUndefined();
    expect(await s3.openMultipartUploads('third')).not.toContain('runs/f.dump');
  });

  it('never replace: another object under the key is refused and stays', async () => {
    const [first, target] = [await bucket('first'), await disk('taken')];
    const dump = await stored(first, 'runs/g.dump', 2 * MIB);
    const other = await stored(target, 'runs/g.dump', 2 * MIB);
    await expect(
      copyBetween({ storage: first, key: 'runs/g.dump' }, { storage: target, key: 'runs/g.dump' }, dump),
    ).rejects.toMatchObject({ name: 'ObjectExistsError', message: expect.stringMatching(/nothing was replaced$/) });
    expect(await sha256Of(target, 'runs/g.dump')).toBe(other.sha256);
  });

  it('a source that fails midway is a StorageError naming it, and nothing is stored', async () => {
    const [a, b] = [await destination('mem-a', memoryDestination()), await bucket('third')];
    const dump = await stored(a, 'runs/flaky.dump', 12 * MIB);
    // The same store, whose reads break after 7 MiB like a connection that drops.
    const flaky: StorageProvider = Object.assign(Object.create(a) as StorageProvider, {
      get: async () => {
        let sent = 0;
        return new Readable({
          read() {
            if (sent >= 7 * MIB) return void this.destroy(new Error('read ECONNRESET'));
            sent += MIB;
            this.push(randomBytes(MIB));
          },
        });
      },
    });
    await expect(
      copyBetween({ storage: flaky, key: 'runs/flaky.dump' }, { storage: b, key: 'runs/flaky.dump' }, dump),
    ).rejects.toMatchObject({
      name: 'StorageError',
      message:
        'cannot copy runs/flaky.dump from destination mem-a to third: reading memory://mem-a/runs/flaky.dump failed (read ECONNRESET); nothing was stored',
    });
    expect(await b.head('runs/flaky.dump')).toBeUndefined();
    expect(await s3.openMultipartUploads('third')).not.toContain('runs/flaky.dump');
  });

  it('between stores without a server-side copy (memory): streamed, and a missing source is named', async () => {
    const [a, b] = [await destination('mem-a', memoryDestination()), await destination('mem-b', memoryDestination())];
    const dump = await stored(a, 'runs/h.dump', MIB);
    await expect(
      copyBetween({ storage: a, key: 'runs/h.dump' }, { storage: b, key: 'runs/h.dump' }, dump),
    ).resolves.toMatchObject({ method: 'streamed', size: MIB });
    await expect(
      copyBetween({ storage: a, key: 'runs/none.dump' }, { storage: b, key: 'runs/none.dump' }, dump),
    ).rejects.toMatchObject({
      name: 'StorageError',
      message:
        'cannot copy runs/none.dump from destination mem-a to mem-b: memory://mem-a/runs/none.dump does not exist',
    });
  });
});
