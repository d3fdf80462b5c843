/**
 * S3 destinations when things go wrong: a store that accepts connections and never answers, a
 * staged file that vanishes under an upload, an upload that fails midway, and an S3 server that
 * dies mid-upload and comes back. Every one ends in bounded time, as an error the state machine
 * understands, with no open multipart upload and no earlier backup harmed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
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
    const restarted = crash.exited.then(() => s3.restart());
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

async function objectSha256(key: string): Promise<string> {
  const body = (await s3.client.send(new GetObjectCommand({ Bucket: 'faults', Key: key })))
    .Body as AsyncIterable<Buffer>;
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk);
  return hash.digest('hex');
}
