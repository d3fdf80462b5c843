/**
 * S3 destinations when things go wrong: a store that accepts connections and never answers, a
 * staged file that vanishes under an upload, a connection broken before the store answers, an
 * upload that fails midway, and an S3 server that dies mid-upload and comes back. Every one ends
 * in bounded time, as an error the state machine understands, with no open multipart upload and
 * no earlier backup harmed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/load.ts';
import type { DestinationConfig } from '../src/config/schema.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { storageFor } from '../src/storage/registry.ts';
import { DEFAULT_S3_TIMEOUTS, S3Storage } from '../src/storage/s3.ts';
import { s3Profile } from '../src/storage/s3-profile.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { S3RVER_KEY, s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { startSilentServer, type SilentServer } from './helpers/silent-server.ts';
import { configFor, createWorkspace, storedBackup, type Workspace } from './helpers/workspace.ts';

const MIB = 1024 * 1024;
const database = uniqueName('sv_pg_s3faults');
let s3: S3TestServer;
let silent: SilentServer;
let folder: string;
const workspaces: Workspace[] = [];

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'stepvault-s3-faults-'));
  [s3, silent] = await Promise.all([startS3Server(['faults']), startSilentServer()]);
  await createDatabase(database);
  // Incompressible rows: a custom-format dump of several 5 MiB parts.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 250000) g`,
  );
});

afterAll(async () => {
  await Promise.all([s3?.stop(), silent?.close()]);
  await dropDatabase(database);
  await Promise.all(workspaces.map((w) => w.remove()));
  await rm(folder, { recursive: true, force: true });
});

function storage(destination: Record<string, unknown>, name = 'bucket'): Promise<S3Storage> {
  const config: Config = {
    source: `s3-faults-${name}`,
    targets: {},
    destinations: { [name]: destination as DestinationConfig },
    notifications: {},
  };
  return storageFor(config, name, new SecretResolver()) as Promise<S3Storage>;
}

async function randomFile(bytes: number): Promise<{ file: string; size: number; sha256: string }> {
  const file = path.join(folder, `staged-${randomBytes(4).toString('hex')}`);
  const body = randomBytes(bytes);
  await writeFile(file, body);
  return { file, size: bytes, sha256: createHash('sha256').update(body).digest('hex') };
}

/** The files this process holds open, by path. */
async function openFiles(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  return (await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')))).filter(Boolean);
}

describe('an S3 store that accepts connections and never answers', () => {
  it('fails the upload as a StorageError in bounded time', async () => {
    const store = new S3Storage({
      name: 'silent',
      type: 's3',
      profile: s3Profile('silent', { type: 's3', bucket: 'b', endpoint: silent.url }),
      credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
      timeouts: { connectMs: 500, idleMs: 500 },
    });
    const { file, size, sha256 } = await randomFile(1024);
    const started = Date.now();
    await expect(store.putFile('hang/object.bin', file, { size, sha256, metadata: {} })).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringContaining('TimeoutError'),
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(silent.connections()).toBeGreaterThan(0);
  });

  it('every S3 destination gets connect and idle timeouts by default', async () => {
    const store = await storage(s3Destination(s3, 'faults'), 'defaults');
    expect(store.timeouts).toEqual(DEFAULT_S3_TIMEOUTS);
    expect(DEFAULT_S3_TIMEOUTS.connectMs).toBeLessThanOrEqual(10_000);
    expect(DEFAULT_S3_TIMEOUTS.idleMs).toBeLessThanOrEqual(60_000);
  });
});

describe('an upload whose connection breaks before the store answers', () => {
  /** A store whose every PUT fails as a broken pipe does: no HTTP status, the answer never read. */
  function brokenPipe(bucket: string): S3Storage {
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        if ((args.request as { method?: string }).method === 'PUT')
          throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE', $metadata: {} });
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    return new S3Storage({
      name: 'piped',
      type: 's3',
      profile: s3Profile('piped', { type: 's3', bucket, endpoint: s3.endpoint, conditionalWrites: false }),
      client,
    });
  }

  it('into a missing bucket says the bucket is missing (a store may answer so and close)', async () => {
    const { file, size, sha256 } = await randomFile(1024);
    await expect(
      brokenPipe('no-such-bucket').putFile('x.dump', file, { size, sha256, metadata: {} }),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining(
        'destination piped (s3://no-such-bucket/x.dump): bucket no-such-bucket does not exist; create it or fix destinations.piped.bucket',
      ),
    });
  });

  it('into a bucket that exists stays the StorageError it is, retried like any', async () => {
    const { file, size, sha256 } = await randomFile(1024);
    await expect(brokenPipe('faults').putFile('x.dump', file, { size, sha256, metadata: {} })).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringContaining('EPIPE'),
    });
  });
});

describe('the staged file under an upload', () => {
  it('a staged file removed before the upload reads it fails the upload, not the process', async () => {
    const store = await storage(s3Destination(s3, 'faults', { partSizeMB: 5 }));
    const { file, size, sha256 } = await randomFile(11 * MIB);
    const upload = store.putFile('gone/object.bin', file, { size, sha256, metadata: { sha256 } });
    await rm(file); // Cleanup removing staging while Upload is still in flight
    await expect(upload).rejects.toMatchObject({ name: 'StorageError', message: expect.stringContaining('ENOENT') });
    expect(await store.head('gone/object.bin')).toBeUndefined();
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
  });

  it('a staged file that is not the dump it should be is sent, refused before it becomes visible, and aborted', async () => {
    const store = await storage(s3Destination(s3, 'faults', { partSizeMB: 5 }));
    const { file, size, sha256 } = await randomFile(12 * MIB);
    const dumped = '0'.repeat(64);
    const writes = await s3.objectWrites('faults');
    await expect(
      store.putFile('changed/object.bin', file, { size, sha256: dumped, metadata: { sha256: dumped } }),
    ).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `bucket: sent ${size} bytes (SHA-256 ${sha256}) of ${file}; expected ${size} bytes with ${dumped}; nothing was stored`,
    });
    expect(await s3.objectWrites('faults')).toEqual(writes);
    expect(await store.head('changed/object.bin')).toBeUndefined();
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
  });

  it('a part the store fails once is sent again, read anew from its range of the file', async () => {
    const attempts: string[] = [];
    const store = partsWatched((partNumber) => {
      attempts.push(partNumber);
      if (partNumber === '2' && attempts.filter((p) => p === '2').length === 1)
        throw Object.assign(new Error('injected: slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    });
    const { file, size, sha256 } = await randomFile(12 * MIB + 3);
    await store.putFile('retried/object.bin', file, { size, sha256, metadata: { sha256 } });
    expect(attempts.sort()).toEqual(['1', '2', '2', '3']);
    expect(await objectSha256('retried/object.bin')).toBe(sha256);
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
  });

  it('a staged file that changes while its parts are sent fails the upload and leaves nothing', async () => {
    const { file, size, sha256 } = await randomFile(12 * MIB);
    // Once the first part was hashed (in order, with the whole file) and before its range is read
    // again to be sent, its bytes change: the whole file's SHA-256 was right, what is sent is not.
    const store = partsWatched(async (partNumber) => {
      if (partNumber !== '1') return;
      const handle = await open(file, 'r+');
      await handle.write(Buffer.alloc(MIB, 1), 0, MIB, 0);
      await handle.close();
    });
    await expect(
      store.putFile('changed-midway/object.bin', file, { size, sha256, metadata: { sha256 } }),
    ).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: expect.stringMatching(`^part 1 of ${file} changed while it was uploaded: sent ${5 * MIB} bytes`),
    });
    expect(await store.head('changed-midway/object.bin')).toBeUndefined();
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
  });

  it('an upload that fails midway closes the staged file before it returns', async () => {
    const store = await storage(s3Destination(s3, 'faults', { partSizeMB: 5 }));
    const { file, size, sha256 } = await randomFile(48 * MIB);
    await s3.failNextUploads(1);
    await expect(
      store.putFile('midway/object.bin', file, { size, sha256, metadata: { sha256 } }),
    ).rejects.toMatchObject({ name: 'StorageError' });
    expect(await openFiles()).not.toContain(file);
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
  });
});

describe('an S3 server that dies mid-upload', () => {
  it('the retry aborts the orphaned upload and stores one verifiable backup; the earlier backup is unharmed', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor(
        { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database, verify: { download: true } },
        {
          // One part at a time, so the server dies between two parts of one upload.
          destinations: { primary: s3Destination(s3, 'faults', { prefix: 'crash', partSizeMB: 5, concurrency: 1 }) },
          defaults: { destinations: ['primary'], staging: './staging', notify: ['desk'] },
        },
      ),
    );
    const earlier = await workspace.run('main', { now: () => new Date('2026-11-21T03:00:00Z') });
    expect(earlier.status, earlier.cause).toBe('SUCCEEDED');
    const earlierKey = storedBackup(earlier).key;
    const earlierBytes = await objectSha256(earlierKey);

    const crash = await s3.crashAfterParts(1);
    // The server stays down a second: longer than a part's own attempts (s3-file-part.ts: three, their
    // waits under 0.6 s together), so the step fails and the state machine retries it. A server back
    // sooner let the part's retry finish the upload, with no retry of the step to see.
    const restarted = crash.exited.then(() => setTimeout(1000)).then(() => s3.restart());
    const record = await workspace.run('main', { retryDelayMs: 1500, now: () => new Date('2026-11-22T03:00:00Z') });
    await restarted;

    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(
      record.events.filter((e) => e.type === 'state-retried' && e.state === 'UploadToDestination').length,
    ).toBeGreaterThan(0);
    expect(record.state.dump!.size).toBeGreaterThan(10 * MIB);
    const key = storedBackup(record).key;
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'faults', Prefix: 'crash/' }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      [earlierKey, `${earlierKey}.manifest.json`, key, `${key}.manifest.json`].sort(),
    );
    expect(await objectSha256(key)).toBe(record.state.dump!.sha256);
    expect(await s3.openMultipartUploads('faults')).toEqual([]);
    expect(await objectSha256(earlierKey)).toBe(earlierBytes);
    expect(earlierBytes).toBe(earlier.state.dump!.sha256);
  });
});

/**
 * A store of 5 MiB parts, one in flight, whose client calls `onPart` with the part number of each
 * part request before it goes out (an error it throws is that attempt's failure).
 */
function partsWatched(onPart: (partNumber: string) => void | Promise<void>): S3Storage {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const partNumber = (args.request as { query?: Record<string, string> }).query?.partNumber;
      if (partNumber) await onPart(partNumber);
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  return new S3Storage({
    name: 'watched',
    type: 's3',
    profile: s3Profile('watched', { type: 's3', bucket: 'faults', endpoint: s3.endpoint }),
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    partSizeMB: 5,
    concurrency: 1,
    client,
  });
}

async function objectSha256(key: string): Promise<string> {
  const body = (await s3.client.send(new GetObjectCommand({ Bucket: 'faults', Key: key })))
    .Body as AsyncIterable<Buffer>;
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk);
  return hash.digest('hex');
}
