/**
 * Supabase Storage as a destination: the S3 provider with Supabase's profile (path-style, no
 * checksum headers, a look before each write), pointed at a real S3 server through the endpoint
 * a self-hosted Supabase would be configured with. The round trip, retention, and a failure
 * mid-upload that leaves nothing published.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { destinationRoundTrip } from './helpers/destination-roundtrip.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { configFor, storedBackup, workspacePool } from './helpers/workspace.ts';

let s3: S3TestServer;
const workspaces = workspacePool();

beforeAll(async () => {
  s3 = await startS3Server(['supabase-roundtrip', 'supabase-fail']);
});

afterAll(async () => {
  await s3?.stop();
  await workspaces.removeAll();
});

function supabaseDestination(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'supabase',
    projectRef: 'abcdefghijklmnopqrst',
    region: 'eu-central-1',
    bucket,
    endpoint: s3.endpoint,
    accessKeyId: 'env:STEPVAULT_TEST_S3_KEY',
    secretAccessKey: 'env:STEPVAULT_TEST_S3_KEY',
    ...extra,
  };
}

async function objectKeys(bucket: string): Promise<string[]> {
  const result = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (result.Contents ?? []).map((o) => o.Key!).sort();
}

describe('Supabase Storage destination', () => {
  it('backs up, lists, restores and prunes through the workflow', async () => {
    const workspace = await workspaces.withConfig({});
    const { kept } = await destinationRoundTrip(workspace, supabaseDestination('supabase-roundtrip', { prefix: 'db' }));
    expect(await objectKeys('supabase-roundtrip')).toEqual([...kept].sort());
    expect(kept[0]).toMatch(/^db\/main\/20261120\/main-20261120T030000Z-[0-9a-f]{8}\.dump$/);
  });

  it('writes without If-None-Match and without checksum headers, and names its objects supabase://', async () => {
    const database = uniqueName('sv_supa_hdr');
    await createDatabase(database);
    try {
      await psql(database, 'CREATE TABLE t AS SELECT 1 AS x');
      const workspace = await workspaces.withConfig(
        configFor(
          { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
          {
            destinations: { remote: supabaseDestination('supabase-roundtrip', { prefix: 'hdr' }) },
            defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
          },
        ),
      );
      const before = await s3.objectWrites('supabase-roundtrip');
      const record = await workspace.run('main');
      expect(record.status, record.cause).toBe('SUCCEEDED');
      const after = await s3.objectWrites('supabase-roundtrip');
      expect(after.conditional - before.conditional).toBe(0);
      expect(after.unconditional - before.unconditional).toBe(2); // the dump and its manifest
      expect(storedBackup(record).location).toBe(`supabase://supabase-roundtrip/${storedBackup(record).key}`);
    } finally {
      await dropDatabase(database);
    }
  });

  it('a multipart upload that fails midway leaves nothing published; the retry stores it', async () => {
    const database = uniqueName('sv_supa_fail');
    await createDatabase(database);
    try {
      // Incompressible rows: a dump of several 5 MiB parts.
      await psql(
        database,
        `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 400000) g`,
      );
      const workspace = await workspaces.withConfig(
        configFor(
          { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
          {
            destinations: { remote: supabaseDestination('supabase-fail', { partSizeMB: 5 }) },
            defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
          },
        ),
      );
      await s3.failNextUploads(1);
      const record = await workspace.run('main');
      expect(record.status, record.cause).toBe('SUCCEEDED');
      const failed = record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination');
      expect(failed).toMatchObject([{ error: 'StorageError' }]);
      const key = storedBackup(record).key;
      expect(await objectKeys('supabase-fail')).toEqual([key, `${key}.manifest.json`]);
      expect(await s3.openMultipartUploads('supabase-fail')).toEqual([]);
    } finally {
      await dropDatabase(database);
    }
  });

  it.each([
    [
      { projectRef: 'https://abcdefghijklmnopqrst.supabase.co' },
      'destinations.remote.projectRef: must be the project ref, the 20 lowercase letters of https://<ref>.supabase.co',
    ],
    [
      { region: 'Frankfurt' },
      'destinations.remote.region: must be the project region as Supabase names it, e.g. eu-central-1',
    ],
    [{ accessKeyId: 'sb_secret_123' }, 'destinations.remote.accessKeyId: must be a secret reference'],
  ])('refuses %j with a message that names the fix', async (change, message) => {
    const workspace = await workspaces.withConfig(
      configFor(
        { engine: 'postgres', host: PG.host, database: 'x' },
        {
          destinations: { remote: { ...supabaseDestination('b'), ...change } },
          defaults: { destinations: ['remote'] },
        },
      ),
    );
    expect(() => loadConfig(workspace.configFile)).toThrow(message);
  });
});
