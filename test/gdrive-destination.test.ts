/**
 * Google Drive as a destination, against a local server that speaks Google's token and Drive v3
 * APIs (see helpers/gdrive-server.ts), through `@googleapis/drive` pointed at it: the round trip
 * through the workflow with a service account and with an OAuth refresh token, and the faults:
 * a failure mid-upload, 429 with Retry-After, a lost answer to a chunk, an expired session, a
 * store that reports MD5 only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { destinationRoundTrip } from './helpers/destination-roundtrip.ts';
import {
  gdriveDestination,
  gdriveOAuthDestination,
  startGdriveServer,
  type GdriveTestServer,
} from './helpers/gdrive-server.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, storedBackup, workspacePool, type Workspace } from './helpers/workspace.ts';

let drive: GdriveTestServer;
const workspaces = workspacePool();
const database = uniqueName('sv_gdrive');

beforeAll(async () => {
  drive = await startGdriveServer();
  await createDatabase(database);
  // Incompressible rows: a dump of about 12 MB, several 4 MiB chunks.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 200000) g`,
  );
});

afterAll(async () => {
  await drive?.stop();
  await dropDatabase(database);
  await workspaces.removeAll();
});

function workspaceFor(destination: Record<string, unknown>): Promise<Workspace> {
  return workspaces.withConfig(
    configFor(
      { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
      {
        destinations: { remote: destination },
        defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
      },
    ),
  );
}

describe('Google Drive destination through the workflow', () => {
  it('a service account: backs up into dated folders, lists, restores and prunes', async () => {
    const folder = drive.addFolder('stepvault-sa');
    const workspace = await workspaces.withConfig({});
    const { kept } = await destinationRoundTrip(workspace, gdriveDestination(drive, folder, { prefix: 'db' }));
    expect(drive.paths(folder)).toEqual([...kept].sort());
    expect(kept[0]).toMatch(/^db\/main\/20261120\/main-20261120T030000Z-[0-9a-f]{8}\.dump$/);
    const dump = drive.file(folder, kept[0]!)!;
    expect(dump.appProperties).toMatchObject({ 'backup-type': 'postgres', database: expect.any(String) });
  });

  it('an OAuth client with a refresh token: the same', async () => {
    const folder = drive.addFolder('stepvault-oauth');
    const workspace = await workspaces.withConfig({});
    const { kept } = await destinationRoundTrip(workspace, gdriveOAuthDestination(drive, folder));
    expect(drive.paths(folder)).toEqual([...kept].sort());
  });

  it('a chunk that keeps failing fails the attempt with nothing published; the retry stores the dump', async () => {
    const folder = drive.addFolder('midway');
    const workspace = await workspaceFor(gdriveDestination(drive, folder));
    drive.failChunks(5);
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination')).toMatchObject([
      { error: 'StorageError' },
    ]);
    const key = storedBackup(record).key;
    expect(drive.paths(folder)).toEqual([key, `${key}.manifest.json`]);
  });

  it('an expired upload session fails the attempt as a StorageError; the retry starts a new one', async () => {
    const folder = drive.addFolder('expired');
    const workspace = await workspaceFor(gdriveDestination(drive, folder));
    drive.expireNextSession();
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination')).toMatchObject([
      { error: 'StorageError' },
    ]);
    const key = storedBackup(record).key;
    expect(drive.paths(folder)).toEqual([key, `${key}.manifest.json`]);
  });

  it('waits out 429 Retry-After, goes on after a lost chunk answer, and checks MD5 where Drive gives no SHA-256', async () => {
    const folder = drive.addFolder('faults');
    const workspace = await workspaceFor(gdriveDestination(drive, folder));
    drive.withoutSha256(true);
    drive.dropNextChunkResponse();
    drive.throttle(2, 1);
    const started = Date.now();
    try {
      const record = await workspace.run('main');
      expect(record.status, record.cause).toBe('SUCCEEDED');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(record.events.filter((e) => e.type === 'state-failed')).toEqual([]);
      const key = storedBackup(record).key;
      expect(drive.file(folder, key)!.bytes!.length).toBe(record.state.dump!.size);
    } finally {
      drive.withoutSha256(false);
    }
  });
});

describe('Google Drive destination config errors', () => {
  it.each([
    [
      { serviceAccountKey: '{"type":"service_account"}' },
      'destinations.remote.serviceAccountKey: must be a secret reference',
    ],
    [
      { folderId: 'https://drive.google.com/drive/folders/abc' },
      'destinations.remote.folderId: must be the folder id from its URL',
    ],
    [{ clientId: 'env:X' }, 'give either serviceAccountKey or clientId, clientSecret and refreshToken, not both'],
    [
      { serviceAccountKey: undefined },
      'destinations.remote.serviceAccountKey: is required, or clientId, clientSecret and refreshToken',
    ],
  ])('refuses %j', async (change, message) => {
    const destination: Record<string, unknown> = { ...gdriveDestination(drive, 'a1b2c3d4e5f6g7h8'), ...change };
    for (const [k, v] of Object.entries(destination)) if (v === undefined) delete destination[k];
    const workspace = await workspaceFor(destination);
    expect(() => loadConfig(workspace.configFile)).toThrow(message);
  });

  it('a key Google refuses fails the run as a ConfigError that says what to check', async () => {
    process.env.STEPVAULT_TEST_GDRIVE_OTHER_REFRESH = 'not-the-token';
    const folder = drive.addFolder('refused');
    const workspace = await workspaceFor(
      gdriveOAuthDestination(drive, folder, { refreshToken: 'env:STEPVAULT_TEST_GDRIVE_OTHER_REFRESH' }),
    );
    const record = await workspace.run('main');
    expect(record, record.cause).toMatchObject({ status: 'FAILED', error: 'ConfigError' });
    const [mail] = await workspace.outbox();
    expect(mail!.body).toMatch(
      /destination remote \(gdrive:\/\/.*\): cannot .*Google refused the credentials or the access/,
    );
  });
});
