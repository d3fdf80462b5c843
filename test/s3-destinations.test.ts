/**
 * S3 destinations over HTTP against a real S3 server: a 200 MB dump stored and read back, a
 * multipart upload that fails midway and leaves nothing behind, retention on a bucket after
 * several runs, and an optional second destination that fails without failing the run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { createRuntime } from '../src/runtime.ts';
import type { StagedDump } from '../src/contracts.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { plan } from '../src/steps/plan.ts';
import { upload } from '../src/steps/upload.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { configFor, workspacePool, storedBackup } from './helpers/workspace.ts';

const MIB = 1024 * 1024;
const database = uniqueName('sv_pg_s3');
let s3: S3TestServer;
const workspaces = workspacePool();

beforeAll(async () => {
  s3 = await startS3Server(['backups', 'offsite-ok']);
  await createDatabase(database);
  // Incompressible rows, so the custom-format dump is ~12 MB: several 5 MiB parts.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 250000) g`,
  );
});

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(database);
  await workspaces.removeAll();
});

const workspaceWith = workspaces.withConfig;

const target = { engine: 'postgres', host: PG.host, user: PG.user, database };

async function objectKeys(bucket: string, prefix = ''): Promise<string[]> {
  const result = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (result.Contents ?? []).map((o) => o.Key!).sort();
}

describe('S3 destinations', () => {
  it('stores a 200 MB dump in parts under the documented layout; it reads back with the manifest’s checksum', async () => {
    const workspace = await workspaceWith(
      configFor(target, {
        destinations: { primary: s3Destination(s3, 'backups', { prefix: 'db' }) },
        defaults: { destinations: ['primary'], staging: './staging' },
      }),
    );
    const runtime = createRuntime(loadConfig(workspace.configFile), {
      now: () => new Date('2026-11-22T03:00:07Z'),
      logger: () => createJsonLogger({ write: () => undefined }),
    });
    const planned = await plan(
      {
        request: { target: 'main' },
        execution: { id: 'arn:exec:big', name: 'big', startTime: '2026-11-22T03:00:07Z' },
      },
      runtime,
    );

    // A 200 MB staged "dump" of random bytes, handed to the real Upload step.
    await mkdir(planned.stagingDir, { recursive: true });
    const file = path.join(planned.stagingDir, planned.fileName);
    const hash = createHash('sha256');
    const out = createWriteStream(file);
    for (let i = 0; i < 200; i++) {
      const chunk = randomBytes(MIB);
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve) => out.end(() => resolve()));
    const dump: StagedDump = {
      kind: 'staged',
      file,
      size: 200 * MIB,
      sha256: hash.digest('hex'),
      compression: 'custom',
      tool: { name: 'pg_dump', version: '18.1' },
      serverVersion: '18.1',
      startedAt: '2026-11-22T03:00:07Z',
      finishedAt: '2026-11-22T03:00:37Z',
      durationSeconds: 30,
    };
    const partsBefore = await s3.partsStored();
    const result = await upload({ plan: planned, dump, destination: planned.destinations[0]! }, runtime);
    // 200 MiB in 8 MiB parts: a multipart upload of 25 parts.
    expect((await s3.partsStored()) - partsBefore).toBe(25);

    expect(result.key).toBe(`db/${planned.objectKey}`);
    expect(result.key).toMatch(/^db\/main\/20261122\/main-20261122T030007Z-[0-9a-f]{8}\.dump$/);
    expect(result.location).toBe(`s3://backups/${result.key}`);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'backups', Key: result.key }));
    expect(head.ContentLength).toBe(200 * MIB);
    expect(head.Metadata).toMatchObject({
      'backup-type': 'postgres',
      database,
      sha256: dump.sha256,
      'tool-version': 'pg_dump 18.1',
      timezone: 'UTC',
    });
    const manifest = JSON.parse(
      (
        await buffer(
          (
            await s3.client.send(new GetObjectCommand({ Bucket: 'backups', Key: result.manifestKey }))
          ).Body as NodeJS.ReadableStream,
        )
      ).toString(),
    );
    const body = (await s3.client.send(new GetObjectCommand({ Bucket: 'backups', Key: result.key })))
      .Body as NodeJS.ReadableStream;
    const readBack = createHash('sha256');
    for await (const chunk of body) readBack.update(chunk as Buffer);
    expect(readBack.digest('hex')).toBe(manifest.sha256);
    expect(manifest).toMatchObject({ key: result.key, size: 200 * MIB, sha256: dump.sha256 });
    await rm(planned.stagingDir, { recursive: true, force: true });
  });

  it('a multipart upload that fails midway leaves no object, no manifest and no open upload; the retry succeeds', async () => {
    const workspace = await workspaceWith(
      configFor(target, {
        destinations: { primary: s3Destination(s3, 'backups', { prefix: 'retry', partSizeMB: 5 }) },
        defaults: { destinations: ['primary'], staging: './staging', notify: ['desk'] },
      }),
    );
    await s3.failNextUploads(1);
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const failed = record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ error: 'StorageError' });
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'UploadToDestination')).toHaveLength(
      1,
    );
    // One dump and one manifest, nothing half-written, no parts left behind.
    const key = storedBackup(record).key;
    expect(await objectKeys('backups', 'retry/')).toEqual([key, `${key}.manifest.json`]);
    expect(await s3.openMultipartUploads('backups')).toEqual([]);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'backups', Key: key }));
    expect(head.ContentLength).toBe(record.state.dump!.size);
    expect(record.state.dump!.size).toBeGreaterThan(10 * MIB);
  });

  it('applies retention on the bucket after several runs, from manifests, and reports what it deleted', async () => {
    const workspace = await workspaceWith(
      configFor(
        { ...target, retention: { keepLast: 2 } },
        {
          destinations: { primary: s3Destination(s3, 'backups', { prefix: 'gfs' }) },
          defaults: { destinations: ['primary'], staging: './staging', notify: ['desk'] },
        },
      ),
    );
    const days = ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21'];
    const records = [];
    for (const day of days) records.push(await workspace.run('main', { now: () => new Date(`${day}T03:00:00Z`) }));
    expect(records.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const keys = records.map((r) => storedBackup(r).key);
    expect(keys[0]).toMatch(/^gfs\/main\/20261118\/main-20261118T030000Z-[0-9a-f]{8}\.dump$/);
    expect(await objectKeys('backups', 'gfs/')).toEqual([
      keys[2],
      `${keys[2]}.manifest.json`,
      keys[3],
      `${keys[3]}.manifest.json`,
    ]);
    expect(records[3]!.state.prune).toEqual({
      destinations: [{ destination: 'primary', kept: 2, deleted: [keys[1]] }],
    });
    const mails = await workspace.outbox();
    expect(mails.at(-1)!.body).toContain(`Retention:\n  primary: kept 2, deleted 1\n    deleted ${keys[1]}\n`);
  });

  it('deletes nothing when the listing fails, and reports retention as not applied without failing the backup', async () => {
    const workspace = await workspaceWith(
      configFor(
        { ...target, retention: { keepLast: 1 } },
        {
          destinations: { primary: s3Destination(s3, 'backups', { prefix: 'listfail' }) },
          defaults: { destinations: ['primary'], staging: './staging', notify: ['desk'] },
        },
      ),
    );
    const first = await workspace.run('main', { now: () => new Date('2026-11-20T03:00:00Z') });
    expect(first.status).toBe('SUCCEEDED');
    await s3.failNextLists(1000);
    const second = await workspace.run('main', { now: () => new Date('2026-11-21T03:00:00Z') });
    await s3.failNextLists(0);
    expect(second.status, second.cause).toBe('SUCCEEDED');
    expect(second.state.pruneError?.Error).toBe('StorageError');
    expect(second.events.filter((e) => e.type === 'state-retried' && e.state === 'Prune').length).toBeGreaterThan(0);
    // keepLast 1 would have deleted the first backup; with no listing, nothing was touched.
    expect(await objectKeys('backups', 'listfail/')).toHaveLength(4);
    const mail = (await workspace.outbox()).at(-1)!;
    expect(mail.headers.subject).toContain('backup succeeded');
    expect(mail.body).toMatch(/Retention:\n {2}NOT applied — StorageError: destination primary .*cannot list/);
  });

  it('an optional destination that fails does not fail the run, and the mail says so', async () => {
    const workspace = await workspaceWith(
      configFor(target, {
        destinations: {
          primary: s3Destination(s3, 'backups', { prefix: 'two' }),
          offsite: s3Destination(s3, 'no-such-bucket', { required: false }),
        },
        defaults: { destinations: ['primary', 'offsite'], staging: './staging', notify: ['desk'] },
      }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.upload).toMatchObject([
      { status: 'stored', destination: 'primary' },
      { status: 'failed', destination: 'offsite', error: 'ConfigError' },
    ]);
    const [mail] = await workspace.outbox();
    expect(mail!.headers.subject).toContain('backup succeeded');
    expect(mail!.headers.subject).toContain('offsite FAILED');
    expect(mail!.body).toContain('but 1 optional destination failed');
    expect(mail!.body).toMatch(
      /offsite: FAILED \(optional\) — ConfigError: destination offsite .*bucket no-such-bucket does not exist/,
    );
    expect(mail!.body).toContain('primary: s3://backups/two/main/');
  });

  it('a required destination that fails fails the run through the failure branch', async () => {
    const workspace = await workspaceWith(
      configFor(target, {
        destinations: {
          primary: s3Destination(s3, 'backups', { prefix: 'req' }),
          offsite: s3Destination(s3, 'no-such-bucket'),
        },
        defaults: { destinations: ['primary', 'offsite'], staging: './staging', notify: ['desk'] },
      }),
    );
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Upload', error: 'ConfigError' });
    const [mail] = await workspace.outbox();
    expect(mail!.headers.subject).toContain('backup FAILED in Upload (ConfigError)');
    expect(await workspace.stagingEntries()).toEqual([]);
  });
});

describe('S3 destination config errors, caught before anything is dumped', () => {
  it.each([
    [
      { type: 'ftp', host: 'x' },
      'destinations.remote.type: "ftp" (a string) is not supported; use one of "filesystem", "s3", "r2", "supabase", "dropbox", "gdrive"',
    ],
    [
      { type: 's3', region: 'eu-west-1' },
      'destinations.remote.bucket: is required; add "bucket:" under destinations.remote',
    ],
    [
      { type: 'r2', bucket: 'b', accessKeyId: 'env:A', secretAccessKey: 'env:B' },
      'destinations.remote.accountId: is required; add "accountId:" under destinations.remote',
    ],
    [
      { type: 's3', bucket: 'b', endpoint: '127.0.0.1:9000' },
      'destinations.remote.endpoint: must start with http:// or https://',
    ],
    [
      { type: 's3', bucket: 'b', sse: 'aws:kms' },
      'destinations.remote.kmsKeyId: is required with sse: aws:kms; give a key id, key ARN or alias/name',
    ],
    [
      { type: 's3', bucket: 'b', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'env:S' },
      'destinations.remote.accessKeyId: must be a secret reference',
    ],
  ])('%j', async (destination, message) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-s3-config-'));
    const workspace = await workspaceWith(
      configFor(target, { destinations: { remote: destination }, defaults: { destinations: ['remote'] } }),
    );
    expect(() => loadConfig(workspace.configFile)).toThrow(message);
    await rm(dir, { recursive: true, force: true });
  });
});
