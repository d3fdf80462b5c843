/**
 * The storage contract (src/storage/types.ts), one suite that every provider must pass:
 * the filesystem, the in-memory store of the unit tests, and S3 over HTTP against a real S3
 * server, Supabase Storage through its S3 profile, and Dropbox against a local server that speaks
 * its HTTP API, and Google Drive against one that speaks Google's. Every provider in the list below must
 * pass the same.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/load.ts';
import type { DestinationConfig } from '../src/config/schema.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { FilesystemStorage } from '../src/storage/filesystem.ts';
import { memoryDestination } from '../src/storage/memory.ts';
import type { Progress } from '../src/observability/progress.ts';
import { storageFor } from '../src/storage/registry.ts';
import type { StorageProvider } from '../src/storage/types.ts';
import { dropboxDestination, startDropboxServer, type DropboxTestServer } from './helpers/dropbox-server.ts';
import {
  gdriveDestination,
  gdriveOAuthDestination,
  startGdriveServer,
  type GdriveTestServer,
} from './helpers/gdrive-server.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';

let folder: string;
let s3: S3TestServer;
let dropbox: DropboxTestServer;
let gdrive: GdriveTestServer;
let gdriveFolder: string;
const MIB = 1024 * 1024;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'stepvault-contract-'));
  s3 = await startS3Server(['contract', 'contract-unconditional', 'contract-supabase']);
  dropbox = await startDropboxServer();
  gdrive = await startGdriveServer();
  gdriveFolder = gdrive.addFolder('contract');
  process.env.STEPVAULT_TEST_DROPBOX_REVOKED = 'a-revoked-refresh-token';
});

afterAll(async () => {
  await s3?.stop();
  await dropbox?.stop();
  await gdrive?.stop();
  await rm(folder, { recursive: true, force: true });
});

function provider(name: string, destination: Record<string, unknown>): Promise<StorageProvider> {
  const config: Config = {
    source: `contract-${name}`,
    targets: {},
    destinations: { [name]: destination as DestinationConfig },
    notifications: {},
  };
  return storageFor(config, name, new SecretResolver());
}

/** A file of random bytes, written in chunks, with its size and SHA-256. */
async function randomFile(bytes: number): Promise<{ file: string; size: number; sha256: string }> {
  const file = path.join(folder, `random-${randomBytes(4).toString('hex')}`);
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  for (let written = 0; written < bytes; written += MIB) {
    const chunk = randomBytes(Math.min(MIB, bytes - written));
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise((resolve, reject) => out.end((error?: Error) => (error ? reject(error) : resolve(undefined))));
  return { file, size: bytes, sha256: hash.digest('hex') };
}

interface RandomBody {
  body: Readable;
  /** The SHA-256 of the bytes handed out so far. */
  sha256(): string;
  /** Resolves once the body stopped where `stallAt` said. */
  stalled: Promise<void>;
}

/**
 * A body of random bytes as a dump tool's output would come: in 1 MiB chunks, never all in memory.
 * `failAt` makes it fail like a tool that died midway; `stallAt`, stop sending without ending.
 */
function randomBody(bytes: number, options: { failAt?: number; stallAt?: number } = {}): RandomBody {
  const hash = createHash('sha256');
  let sent = 0;
  let reachedStall: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    reachedStall = resolve;
  });
  const body = new Readable({
    read() {
      if (options.failAt !== undefined && sent >= options.failAt) {
        this.destroy(new Error('pg_dump: error: connection to server lost'));
        return;
      }
      if (options.stallAt !== undefined && sent >= options.stallAt) {
        reachedStall();
        return;
      }
      if (sent >= bytes) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(MIB, bytes - sent));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { body, sha256: () => hash.copy().digest('hex'), stalled };
}

async function sha256Of(storage: StorageProvider, key: string): Promise<string> {
  return createHash('sha256')
    .update(await buffer((await storage.get(key))!))
    .digest('hex');
}

/** Nothing under the key and nothing left open of it (no multipart upload, no partial file). */
async function expectNothingLeft(storage: StorageProvider, key: string): Promise<void> {
  expect(await storage.head(key)).toBeUndefined();
  expect(await storage.abortIncomplete(key)).toBe(0);
}

/** What link() answers on a share that cannot make hard links. */
async function noHardLinks(): Promise<void> {
  throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
}

/** Whether the provider's store refuses a taken key itself (and so also between two racing writers). */
const providers: [string, () => Promise<StorageProvider>, () => Promise<StorageProvider>, { atomic: boolean }][] = [
  [
    'filesystem',
    () => provider('disk', { type: 'filesystem', path: path.join(folder, 'disk') }),
    async () => {
      await writeFile(path.join(folder, 'not-a-folder'), 'x');
      return provider('broken-disk', { type: 'filesystem', path: path.join(folder, 'not-a-folder', 'backups') });
    },
    { atomic: true },
  ],
  [
    'filesystem without hard links (an SMB share)',
    async () =>
      new FilesystemStorage('share', { type: 'filesystem', path: path.join(folder, 'share') }, { link: noHardLinks }),
    async () => {
      await writeFile(path.join(folder, 'not-a-share'), 'x');
      return new FilesystemStorage(
        'broken-share',
        { type: 'filesystem', path: path.join(folder, 'not-a-share', 'backups') },
        { link: noHardLinks },
      );
    },
    { atomic: true },
  ],
  [
    'memory',
    () => provider('memory', memoryDestination()),
    () => provider('read-only-memory', memoryDestination({ readOnly: true })),
    { atomic: true },
  ],
  [
    's3',
    () => provider('bucket', s3Destination(s3, 'contract', { partSizeMB: 5 })),
    () => provider('no-bucket', s3Destination(s3, 'missing-bucket')),
    { atomic: true },
  ],
  [
    's3 without conditional writes',
    () =>
      provider(
        'bucket-unconditional',
        s3Destination(s3, 'contract-unconditional', { partSizeMB: 5, conditionalWrites: false }),
      ),
    () => provider('no-bucket-unconditional', s3Destination(s3, 'missing-bucket', { conditionalWrites: false })),
    { atomic: false },
  ],
  [
    'supabase (its S3 endpoint)',
    () =>
      provider('supabase', {
        type: 'supabase',
        projectRef: 'abcdefghijklmnopqrst',
        region: 'eu-central-1',
        bucket: 'contract-supabase',
        endpoint: s3.endpoint,
        accessKeyId: 'env:STEPVAULT_TEST_S3_KEY',
        secretAccessKey: 'env:STEPVAULT_TEST_S3_KEY',
        partSizeMB: 5,
      }),
    () =>
      provider('no-bucket-supabase', {
        type: 'supabase',
        projectRef: 'abcdefghijklmnopqrst',
        region: 'eu-central-1',
        bucket: 'missing-bucket',
        endpoint: s3.endpoint,
        accessKeyId: 'env:STEPVAULT_TEST_S3_KEY',
        secretAccessKey: 'env:STEPVAULT_TEST_S3_KEY',
      }),
    { atomic: false },
  ],
  [
    'dropbox, an App-folder app (paths from the app folder’s root)',
    () => provider('dropbox-app-folder', dropboxDestination(dropbox, { prefix: 'app' })),
    () =>
      provider('dropbox-revoked', dropboxDestination(dropbox, { refreshToken: 'env:STEPVAULT_TEST_DROPBOX_REVOKED' })),
    { atomic: true },
  ],
  [
    'dropbox, a full-Dropbox app (paths under a folder)',
    () => provider('dropbox-full', dropboxDestination(dropbox, { folder: '/Backups/Stepvault' })),
    () =>
      provider(
        'dropbox-full-revoked',
        dropboxDestination(dropbox, {
          folder: '/Backups/Stepvault',
          refreshToken: 'env:STEPVAULT_TEST_DROPBOX_REVOKED',
        }),
      ),
    { atomic: true },
  ],
  [
    'gdrive (a service account)',
    () => provider('gdrive', gdriveDestination(gdrive, gdriveFolder, { prefix: 'sa' })),
    () =>
      provider(
        'gdrive-refused',
        gdriveOAuthDestination(gdrive, gdriveFolder, { refreshToken: 'env:STEPVAULT_TEST_DROPBOX_REVOKED' }),
      ),
    { atomic: true },
  ],
];

describe.each(providers)('storage contract: %s', (_name, open, openBroken) => {
  it('streams a large object in, telling its progress in bytes of the whole, and reads the same bytes back', async () => {
    const storage = await open();
    const { file, size, sha256 } = await randomFile(24 * MIB);
    const progress: Progress[] = [];
    await storage.putFile('large/object.bin', file, {
      size,
      sha256,
      metadata: { sha256 },
      onProgress: (p) => progress.push(p),
    });
    expect(progress.at(-1)).toEqual({ bytes: size, totalBytes: size });
    expect(progress.map((p) => p.bytes)).toEqual([...progress.map((p) => p.bytes!)].sort((a, b) => a - b));
    expect(await storage.head('large/object.bin')).toEqual({ key: 'large/object.bin', size });
    const body = await buffer((await storage.get('large/object.bin'))!);
    expect(createHash('sha256').update(body).digest('hex')).toBe(sha256);
  });

  it('refuses bytes that do not match the expected SHA-256, and leaves nothing under the key', async () => {
    const storage = await open();
    const { file, size } = await randomFile(6 * MIB);
    await expect(
      storage.putFile('bad/object.bin', file, { size, sha256: '0'.repeat(64), metadata: {} }),
    ).rejects.toMatchObject({ name: 'ChecksumMismatchError' });
    expect(await storage.head('bad/object.bin')).toBeUndefined();
  });

  it('writes, heads, reads and deletes small documents; a missing key is undefined, not an error', async () => {
    const storage = await open();
    await storage.putText('docs/a.json', '{"a":1}', 'application/json');
    expect(await storage.head('docs/a.json')).toEqual({ key: 'docs/a.json', size: 7 });
    expect((await buffer((await storage.get('docs/a.json'))!)).toString()).toBe('{"a":1}');
    await storage.delete('docs/a.json');
    expect(await storage.head('docs/a.json')).toBeUndefined();
    expect(await storage.get('docs/a.json')).toBeUndefined();
    expect(await storage.head('never/was.here')).toBeUndefined();
    await expect(storage.delete('never/was.here')).resolves.toBeUndefined();
  });

  it('lists more than a thousand keys under a prefix, page after page, and nothing outside it', async () => {
    const storage = await open();
    const keys = Array.from({ length: 1050 }, (_, i) => `many/${String(i).padStart(4, '0')}.txt`);
    for (let i = 0; i < keys.length; i += 50)
      await Promise.all(keys.slice(i, i + 50).map((k) => storage.putText(k, k, 'text/plain')));
    await storage.putText('many-others/x.txt', 'x', 'text/plain');
    const listed: string[] = [];
    for await (const object of storage.list('many/')) listed.push(object.key);
    expect(listed.sort()).toEqual(keys);
  });

  it('never replaces an object: another one under a taken key is refused, and the first stays', async () => {
    const storage = await open();
    const first = await randomFile(6 * MIB);
    const second = await randomFile(6 * MIB);
    await storage.putFile('taken/object.bin', first.file, {
      size: first.size,
      sha256: first.sha256,
      metadata: { sha256: first.sha256 },
    });
    await expect(
      storage.putFile('taken/object.bin', second.file, {
        size: second.size,
        sha256: second.sha256,
        metadata: { sha256: second.sha256 },
      }),
    ).rejects.toMatchObject({
      name: 'ObjectExistsError',
      message: expect.stringMatching(/already exists .*nothing was replaced/),
    });
    const body = await buffer((await storage.get('taken/object.bin'))!);
    expect(createHash('sha256').update(body).digest('hex')).toBe(first.sha256);
  });

  it('counts a retry that finds its own bytes already stored as stored', async () => {
    const storage = await open();
    const { file, size, sha256 } = await randomFile(6 * MIB);
    await storage.putFile('again/object.bin', file, { size, sha256, metadata: { sha256 } });
    await expect(
      storage.putFile('again/object.bin', file, { size, sha256, metadata: { sha256 } }),
    ).resolves.toBeUndefined();
    expect(await storage.head('again/object.bin')).toEqual({ key: 'again/object.bin', size });
  });

  it('never replaces a document: the same text again is stored, other text is refused', async () => {
    const storage = await open();
    await storage.putText('taken/doc.json', '{"run":1}', 'application/json');
    await expect(storage.putText('taken/doc.json', '{"run":1}', 'application/json')).resolves.toBeUndefined();
    await expect(storage.putText('taken/doc.json', '{"run":2}', 'application/json')).rejects.toMatchObject({
      name: 'ObjectExistsError',
    });
    expect((await buffer((await storage.get('taken/doc.json'))!)).toString()).toBe('{"run":1}');
  });

  it('reports a destination that cannot be written as a ConfigError naming it', async () => {
    const storage = await openBroken();
    await expect(storage.putText('x.json', '{}', 'application/json')).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining(`destination ${storage.name}`),
    });
    const { body } = randomBody(6 * MIB);
    await expect(storage.putStream('x.dump', body, { metadata: {} })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining(`destination ${storage.name}`),
    });
    // Its producer is told (the stream is destroyed), not left waiting for a reader.
    expect(body.destroyed).toBe(true);
  });
});

describe.each(providers)('storage contract, streams: %s', (_name, open) => {
  it('putStream: stores a body of unknown size, says its size and SHA-256, and reads the same bytes back', async () => {
    const storage = await open();
    const source = randomBody(23 * MIB + 5);
    const progress: Progress[] = [];
    const seen: { size: number; sha256: string }[] = [];
    const written = await storage.putStream('streamed/object.bin', source.body, {
      metadata: { run: 'r1' },
      onProgress: (p) => progress.push(p),
      beforeCommit: async (w) => {
        seen.push(w);
        // Not visible yet: the caller may still refuse it.
        expect(await storage.head('streamed/object.bin')).toBeUndefined();
      },
    });
    expect(written).toEqual({ size: 23 * MIB + 5, sha256: source.sha256() });
    expect(seen).toEqual([written]);
    expect(progress.at(-1)).toEqual({ bytes: 23 * MIB + 5 });
    expect(await storage.head('streamed/object.bin')).toEqual({ key: 'streamed/object.bin', size: 23 * MIB + 5 });
    expect(await sha256Of(storage, 'streamed/object.bin')).toBe(source.sha256());
    expect(await storage.abortIncomplete('streamed/object.bin')).toBe(0);
  });

  it('putStream: an empty body is an empty object', async () => {
    const storage = await open();
    const written = await storage.putStream('streamed/empty.bin', Readable.from([]), { metadata: {} });
    expect(written).toEqual({ size: 0, sha256: createHash('sha256').digest('hex') });
    expect(await storage.head('streamed/empty.bin')).toEqual({ key: 'streamed/empty.bin', size: 0 });
  });

  it('putStream: a body that fails midway leaves nothing and nothing open, and its error reaches the caller', async () => {
    const storage = await open();
    const { body } = randomBody(24 * MIB, { failAt: 12 * MIB });
    await expect(storage.putStream('streamed/failed.bin', body, { metadata: {} })).rejects.toThrow(
      'pg_dump: error: connection to server lost',
    );
    await expectNothingLeft(storage, 'streamed/failed.bin');
  });

  it('putStream: a beforeCommit that refuses leaves nothing and nothing open, and its error reaches the caller', async () => {
    const storage = await open();
    const source = randomBody(12 * MIB);
    let told: { size: number; sha256: string } | undefined;
    await expect(
      storage.putStream('streamed/refused.bin', source.body, {
        metadata: {},
        beforeCommit: async (written) => {
          told = written;
          throw new Error('the archive ends early: no trailer');
        },
      }),
    ).rejects.toThrow('the archive ends early: no trailer');
    expect(told).toEqual({ size: 12 * MIB, sha256: source.sha256() });
    await expectNothingLeft(storage, 'streamed/refused.bin');
  });

  it('putStream: an abort of a stalled body ends the write with an AbortError and leaves nothing open', async () => {
    const storage = await open();
    const source = randomBody(24 * MIB, { stallAt: 12 * MIB });
    const controller = new AbortController();
    const writing = storage.putStream('streamed/aborted.bin', source.body, {
      metadata: {},
      signal: controller.signal,
    });
    await source.stalled;
    controller.abort(new Error('SIGTERM'));
    await expect(writing).rejects.toMatchObject({ name: 'AbortError', message: 'the write was aborted (SIGTERM)' });
    expect(source.body.destroyed).toBe(true);
    await expectNothingLeft(storage, 'streamed/aborted.bin');
  });

  it('putStream: an abort after the last byte, during beforeCommit, still leaves nothing', async () => {
    const storage = await open();
    const controller = new AbortController();
    await expect(
      storage.putStream('streamed/late-abort.bin', randomBody(6 * MIB).body, {
        metadata: {},
        signal: controller.signal,
        beforeCommit: async () => controller.abort(new Error('SIGTERM')),
      }),
    ).rejects.toMatchObject({ name: 'AbortError' });
    await expectNothingLeft(storage, 'streamed/late-abort.bin');
  });

  it('putStream: never replaces an object; the same bytes again count as stored', async () => {
    const storage = await open();
    const first = await randomFile(7 * MIB);
    await storage.putFile('streamed/taken.bin', first.file, {
      size: first.size,
      sha256: first.sha256,
      metadata: { sha256: first.sha256 },
    });
    await expect(
      storage.putStream('streamed/taken.bin', randomBody(7 * MIB).body, { metadata: {} }),
    ).rejects.toMatchObject({
      name: 'ObjectExistsError',
      message: expect.stringMatching(/already exists .*nothing was replaced/),
    });
    expect(await sha256Of(storage, 'streamed/taken.bin')).toBe(first.sha256);
    await expect(
      storage.putStream('streamed/taken.bin', createReadStream(first.file), { metadata: {} }),
    ).resolves.toEqual({
      size: first.size,
      sha256: first.sha256,
    });
    expect(await storage.abortIncomplete('streamed/taken.bin')).toBe(0);
  });
});

// A store that refuses a taken key itself keeps that rule between two writers racing for it too;
// the HEAD-then-put fallback cannot, and says so where it is written.
describe.each(providers.filter(([, , , p]) => p.atomic))('storage contract, racing writers: %s', (_name, open) => {
  it('abortIncomplete leaves finished objects alone and closes nothing when nothing is open', async () => {
    const storage = await open();
    const { file, size, sha256 } = await randomFile(6 * MIB);
    await storage.putFile('finished/object.bin', file, { size, sha256, metadata: { sha256 } });
    await storage.putText('finished/object.bin.manifest.json', '{}', 'application/json');
    expect(await storage.abortIncomplete('finished/object.bin')).toBe(0);
    expect(await storage.abortIncomplete('finished/never-written.bin')).toBe(0);
    expect(await storage.head('finished/object.bin')).toEqual({ key: 'finished/object.bin', size });
    expect(await storage.head('finished/object.bin.manifest.json')).toEqual({
      key: 'finished/object.bin.manifest.json',
      size: 2,
    });
  });

  it('lets exactly one of two racing writers of one key win, and keeps the winner’s bytes', async () => {
    const storage = await open();
    const files = await Promise.all([randomFile(11 * MIB), randomFile(11 * MIB)]);
    const results = await Promise.allSettled(
      files.map((f) =>
        storage.putFile('race/object.bin', f.file, { size: f.size, sha256: f.sha256, metadata: { sha256: f.sha256 } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toMatchObject({ name: 'ObjectExistsError' });
    const winner = files[results.findIndex((r) => r.status === 'fulfilled')]!;
    const body = await buffer((await storage.get('race/object.bin'))!);
    expect(createHash('sha256').update(body).digest('hex')).toBe(winner.sha256);
  });
});

describe.each(providers.filter(([, , , p]) => p.atomic))('storage contract, racing streams: %s', (_name, open) => {
  it('putStream: lets exactly one of two racing streams of one key win, and keeps the winner’s bytes', async () => {
    const storage = await open();
    const sources = [randomBody(11 * MIB), randomBody(11 * MIB)];
    const results = await Promise.allSettled(
      sources.map((s) => storage.putStream('race/streamed.bin', s.body, { metadata: {} })),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({
      name: 'ObjectExistsError',
    });
    const winner = sources[results.findIndex((r) => r.status === 'fulfilled')]!;
    expect(await sha256Of(storage, 'race/streamed.bin')).toBe(winner.sha256());
    expect(await storage.abortIncomplete('race/streamed.bin')).toBe(0);
  });
});

describe('S3 writes', () => {
  it('carry If-None-Match: * where the store refuses a taken key itself, and not where a HEAD must stand in', async () => {
    const conditional = await provider('bucket', s3Destination(s3, 'contract', { partSizeMB: 5 }));
    const plain = await provider(
      'bucket-unconditional',
      s3Destination(s3, 'contract-unconditional', { partSizeMB: 5, conditionalWrites: false }),
    );
    const before = {
      conditional: await s3.objectWrites('contract'),
      plain: await s3.objectWrites('contract-unconditional'),
    };
    for (const storage of [conditional, plain]) {
      const { file, size, sha256 } = await randomFile(11 * MIB); // multipart: CompleteMultipartUpload
      await storage.putFile('headers/object.bin', file, { size, sha256, metadata: { sha256 } });
      await storage.putText('headers/doc.json', '{}', 'application/json'); // PutObject
    }
    const after = {
      conditional: await s3.objectWrites('contract'),
      plain: await s3.objectWrites('contract-unconditional'),
    };
    expect(after.conditional.conditional - before.conditional.conditional).toBe(2);
    expect(after.conditional.unconditional - before.conditional.unconditional).toBe(0);
    expect(after.plain.conditional - before.plain.conditional).toBe(0);
    expect(after.plain.unconditional - before.plain.unconditional).toBe(2);
  });
});

describe('abortIncomplete', () => {
  it('S3: aborts every open multipart upload of exactly the key, and none of a key it is a prefix of', async () => {
    const storage = await provider('bucket', s3Destination(s3, 'contract', { partSizeMB: 5 }));
    const openUpload = async (key: string) => {
      const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'contract', Key: key }));
      await s3.client.send(
        new UploadPartCommand({ Bucket: 'contract', Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }),
      );
    };
    await openUpload('orphaned/run.dump');
    await openUpload('orphaned/run.dump'); // a first attempt, and a retry that died too
    await openUpload('orphaned/run.dump.other');
    expect(await storage.abortIncomplete('orphaned/run.dump')).toBe(2);
    expect((await s3.openMultipartUploads('contract')).filter((k) => k.startsWith('orphaned/'))).toEqual([
      'orphaned/run.dump.other',
    ]);
    expect(await storage.abortIncomplete('orphaned/run.dump.other')).toBe(1);
    expect((await s3.openMultipartUploads('contract')).filter((k) => k.startsWith('orphaned/'))).toEqual([]);
  });

  it('S3: a store that cannot be reached is a StorageError naming the destination', async () => {
    const storage = await provider('unreachable', { ...s3Destination(s3, 'contract'), endpoint: 'http://127.0.0.1:1' });
    await expect(storage.abortIncomplete('orphaned/x.dump')).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringMatching(
        /^destination unreachable \(s3:\/\/contract\/orphaned\/x.dump\): cannot list the open multipart uploads of: .*ECONNREFUSED/,
      ),
    });
  });

  it('a folder: removes the partial files a killed writer left of the key, and nothing else', async () => {
    const root = path.join(folder, 'partials');
    const storage = await provider('partials', { type: 'filesystem', path: root });
    await storage.putText('run/a.dump', 'finished', 'text/plain');
    // What a process killed mid-write leaves: its partial file, which its own cleanup never removed.
    await writeFile(path.join(root, 'run', 'a.dump.partial-0badf00d'), 'half');
    await writeFile(path.join(root, 'run', 'a.dump.manifest.json.partial-0badf00d'), '{');
    await writeFile(path.join(root, 'run', 'ab.dump.partial-0badf00d'), 'someone else');
    expect(await storage.abortIncomplete('run/a.dump')).toBe(1);
    expect(await storage.abortIncomplete('run/a.dump.manifest.json')).toBe(1);
    expect((await readdir(path.join(root, 'run'))).sort()).toEqual(['a.dump', 'ab.dump.partial-0badf00d']);
    expect(await storage.abortIncomplete('elsewhere/b.dump')).toBe(0);
  });
});
