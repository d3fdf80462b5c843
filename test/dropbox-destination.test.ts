/**
 * Dropbox as a destination, against a local server that speaks Dropbox's HTTP API (see
 * helpers/dropbox-server.ts), through the official SDK pointed at it: the round trip through the
 * workflow for a full-Dropbox app (a folder) and an App-folder app (its root), and the faults a
 * real Dropbox shows: a failure mid-upload, 429 with Retry-After, a lost response to a chunk, an
 * upload session that expired, an access token that expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { destinationRoundTrip } from './helpers/destination-roundtrip.ts';
import { dropboxDestination, startDropboxServer, type DropboxTestServer } from './helpers/dropbox-server.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, storedBackup, workspacePool, type Workspace } from './helpers/workspace.ts';

let dropbox: DropboxTestServer;
const workspaces = workspacePool();
const database = uniqueName('sv_dbx');

beforeAll(async () => {
  dropbox = await startDropboxServer();
  await createDatabase(database);
  // Incompressible rows: a dump of about 12 MB, three 4 MiB chunks and a last piece.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 200000) g`,
  );
});

afterAll(async () => {
  await dropbox?.stop();
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

describe('Dropbox destination through the workflow', () => {
  it('a full-Dropbox app: backs up into its folder, lists, restores and prunes', async () => {
    const workspace = await workspaces.withConfig({});
    const { kept, deleted } = await destinationRoundTrip(
      workspace,
      dropboxDestination(dropbox, { folder: '/Backups/stepvault', prefix: 'db' }),
    );
    const files = dropbox.files().filter((f) => f.startsWith('/Backups/stepvault/db/'));
    expect(files).toEqual(kept.map((k) => `/Backups/stepvault/${k}`).sort());
    for (const key of deleted) expect(dropbox.read(`/Backups/stepvault/${key}`)).toBeUndefined();
    expect(dropbox.tokenRefreshes()).toBeGreaterThan(0);
  });

  it('an App-folder app: the same, with paths from the app folder’s root', async () => {
    const workspace = await workspaces.withConfig({});
    const { kept } = await destinationRoundTrip(workspace, dropboxDestination(dropbox, { prefix: 'appfolder' }));
    expect(dropbox.files().filter((f) => f.startsWith('/appfolder/'))).toEqual(kept.map((k) => `/${k}`).sort());
  });

  it('a chunk that keeps failing fails the attempt with nothing published; the retry stores the dump', async () => {
    const workspace = await workspaceFor(dropboxDestination(dropbox, { prefix: 'midway' }));
    dropbox.failAppends(5);
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const failed = record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination');
    expect(failed).toMatchObject([{ error: 'StorageError' }]);
    const key = storedBackup(record).key;
    expect(dropbox.files().filter((f) => f.startsWith('/midway/'))).toEqual([`/${key}`, `/${key}.manifest.json`]);
    expect(dropbox.read(`/${key}`)!.length).toBe(record.state.dump!.size);
  });

  it('an upload session that expired fails the attempt as a StorageError, and the retry starts a new one', async () => {
    const workspace = await workspaceFor(dropboxDestination(dropbox, { prefix: 'expired' }));
    dropbox.expireNextSession();
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.events.filter((e) => e.type === 'state-failed' && e.state === 'UploadToDestination')).toMatchObject([
      { error: 'StorageError' },
    ]);
    const key = storedBackup(record).key;
    expect(dropbox.files().filter((f) => f.startsWith('/expired/'))).toEqual([`/${key}`, `/${key}.manifest.json`]);
  });

  it('waits out 429 Retry-After, carries on after a lost chunk response, and refreshes an expired access token', async () => {
    const workspace = await workspaceFor(dropboxDestination(dropbox, { prefix: 'faults' }));
    // A first run gives the process its access token; then every token given so far expires.
    expect((await workspace.run('main', { now: () => new Date('2026-11-20T03:00:00Z') })).status).toBe('SUCCEEDED');
    dropbox.expireTokens();
    const refreshes = dropbox.tokenRefreshes();
    dropbox.dropNextAppendResponse();
    dropbox.throttle(2, 1);
    const started = Date.now();
    const record = await workspace.run('main', { now: () => new Date('2026-11-21T03:00:00Z') });
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(record.events.filter((e) => e.type === 'state-failed')).toEqual([]);
    expect(dropbox.tokenRefreshes()).toBeGreaterThan(refreshes);
    const key = storedBackup(record).key;
    expect(dropbox.read(`/${key}`)!.length).toBe(record.state.dump!.size);
  });
});

describe('Dropbox destination config errors', () => {
  it.each([
    [{ appKey: 'abc123' }, 'destinations.remote.appKey: must be a secret reference'],
    [{ folder: 'Backups' }, 'destinations.remote.folder: must be a Dropbox folder path starting with "/"'],
    [{ folder: '/Backups/' }, 'without a trailing "/"'],
    [{ chunkSizeMB: 150 }, 'destinations.remote.chunkSizeMB:'],
    [{ chunkSizeMB: 6 }, 'destinations.remote.chunkSizeMB: must be a multiple of 4 (MiB)'],
  ])('refuses %j', async (change, message) => {
    const workspace = await workspaceFor({ ...dropboxDestination(dropbox), ...change });
    expect(() => loadConfig(workspace.configFile)).toThrow(message);
  });

  it('a refresh token Dropbox refuses fails the run as a ConfigError that says what to check', async () => {
    process.env.STEPVAULT_TEST_DROPBOX_WRONG = 'not-the-token';
    const workspace = await workspaceFor(
      dropboxDestination(dropbox, { prefix: 'wrong', refreshToken: 'env:STEPVAULT_TEST_DROPBOX_WRONG' }),
    );
    const record = await workspace.run('main');
    expect(record, record.cause).toMatchObject({ status: 'FAILED', error: 'ConfigError' });
    const [mail] = await workspace.outbox();
    expect(mail!.body).toMatch(
      /destination remote \(dropbox:\/wrong\/main\/.*\): cannot .*: Dropbox refused the app's credentials \(refresh token is malformed\); check appKey, appSecret and refreshToken of destinations.remote/,
    );
  });
});
