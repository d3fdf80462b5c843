/**
 * A folder as a destination: what it writes is its owner's alone unless the config says a group
 * may read it, a staged dump on the same disk is linked into place (not copied) without that
 * sharing anything it must not, a copy into a full folder fails cleanly, and a folder under /proc
 * is refused quickly instead of spinning Upload forever.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { ChecksumMismatchError } from '../src/errors.ts';
import { FilesystemStorage } from '../src/storage/filesystem.ts';
import { mountTmpfs, unmount } from './helpers/faults.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, storedBackup, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_fsdest');
const target = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };
const workspaces: Workspace[] = [];

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g`);
});

afterAll(async () => {
  await dropDatabase(database);
  await Promise.all(workspaces.map((w) => w.remove()));
});

async function workspaceWith(destination: Record<string, unknown>): Promise<Workspace> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(
    configFor(target, {
      destinations: { local: { type: 'filesystem', path: './backups', prefix: 'db', ...destination } },
    }),
  );
  return workspace;
}

/** The mode of every file and folder the run created under the destination's root. */
async function modes(root: string): Promise<{ files: Set<string>; folders: Set<string> }> {
  const files = new Set<string>();
  const folders = new Set<string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const mode = ((await stat(path.join(entry.parentPath, entry.name))).mode & 0o777).toString(8).padStart(4, '0');
    (entry.isDirectory() ? folders : files).add(mode);
  }
  return { files, folders };
}

describe('filesystem destination permissions', () => {
  it('writes backups and manifests 0600 in 0700 folders by default', async () => {
    const workspace = await workspaceWith({});
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const root = path.join(workspace.dir, 'backups');
    const found = await modes(root);
    expect(found).toEqual({ files: new Set(['0600']), folders: new Set(['0700']) });
    expect((await readdir(root, { recursive: true })).filter((f) => f.endsWith('.manifest.json'))).toHaveLength(1);
    expect(storedBackup(record).key.startsWith('db/main/')).toBe(true);
  });

  it('writes files with the configured mode, and folders a group may enter', async () => {
    const workspace = await workspaceWith({ mode: '0640' });
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(await modes(path.join(workspace.dir, 'backups'))).toEqual({
      files: new Set(['0640']),
      folders: new Set(['0750']),
    });
  });

  it.each([['0644x'], ['0755'], ['0400'], ['0647'], ['rw-r-----']])(
    'refuses mode %j with a message naming the key',
    async (mode) => {
      const workspace = await workspaceWith({ mode });
      expect(() => loadConfig(workspace.configFile)).toThrow(
        'destinations.local.mode: must be a file mode the owner can read and write, and nobody execute, as an octal string: "0600" (the default), "0640" or "0660"',
      );
    },
  );
});

describe('a staged dump on the same disk', () => {
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('is linked into the folder, hashed as stored, and outlives its staged name', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-link-'));
    try {
      const staged = path.join(dir, 'staged.dump');
      const bytes = randomBytes(3 * 1024 * 1024 + 7);
      await writeFile(staged, bytes, { mode: 0o600 });
      const progress: number[] = [];
      const storage = new FilesystemStorage('local', { type: 'filesystem', path: path.join(dir, 'backups') });
      await storage.putFile('db/main/one.dump', staged, {
        size: bytes.length,
        sha256: sha256(bytes),
        metadata: {},
        onProgress: (p) => progress.push(p.bytes ?? -1),
      });
      const stored = storage.locate('db/main/one.dump');
      expect((await stat(stored)).ino).toBe((await stat(staged)).ino);
      expect(progress.at(-1)).toBe(bytes.length);
      await rm(staged);
      expect(sha256(await readFile(stored))).toBe(sha256(bytes));
      expect(await readdir(path.dirname(stored))).toEqual(['one.dump']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is refused when its bytes are no longer the ones the dump hashed, and stays as it was', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-link-'));
    try {
      const staged = path.join(dir, 'staged.dump');
      const bytes = randomBytes(64 * 1024);
      await writeFile(staged, bytes, { mode: 0o600 });
      const storage = new FilesystemStorage('local', { type: 'filesystem', path: path.join(dir, 'backups') });
      const expected = { size: bytes.length, sha256: sha256(Buffer.from('what the dump wrote')), metadata: {} };
      const refused = storage.putFile('db/main/one.dump', staged, expected);
      await expect(refused).rejects.toBeInstanceOf(ChecksumMismatchError);
      await expect(refused).rejects.toThrow(`local: stored ${bytes.length} bytes with SHA-256 ${sha256(bytes)}`);
      expect(await readdir(path.join(dir, 'backups/db/main'))).toEqual([]);
      expect((await stat(staged)).nlink).toBe(1);
      expect(sha256(await readFile(staged))).toBe(sha256(bytes));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is linked into one of two folders written at once, and copied into the other', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-link-'));
    try {
      for (let attempt = 0; attempt < 10; attempt++) {
        const staged = path.join(dir, `staged-${attempt}.dump`);
        const bytes = randomBytes(256 * 1024);
        await writeFile(staged, bytes, { mode: 0o600 });
        const expected = { size: bytes.length, sha256: sha256(bytes), metadata: {} };
        const folders = [
          new FilesystemStorage('private', { type: 'filesystem', path: path.join(dir, 'private') }),
          new FilesystemStorage('shared', { type: 'filesystem', path: path.join(dir, 'shared'), mode: '0640' }),
        ];
        await Promise.all(folders.map((folder) => folder.putFile(`db/${attempt}.dump`, staged, expected)));
        const [one, two] = await Promise.all(folders.map((folder) => stat(folder.locate(`db/${attempt}.dump`))));
        expect([one!.mode & 0o777, two!.mode & 0o777], `attempt ${attempt}`).toEqual([0o600, 0o640]);
        expect(one!.ino, `attempt ${attempt}`).not.toBe(two!.ino);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is copied into a second folder, so that each keeps the mode its config gives', async () => {
    const workspace = await workspaceWith({});
    await workspace.writeConfig(
      configFor(target, {
        defaults: { staging: './staging', destinations: ['private', 'shared'], notify: ['desk'] },
        destinations: {
          private: { type: 'filesystem', path: './private' },
          shared: { type: 'filesystem', path: './shared', mode: '0640' },
        },
      }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const privateFiles = await modes(path.join(workspace.dir, 'private'));
    const sharedFiles = await modes(path.join(workspace.dir, 'shared'));
    expect(privateFiles.files).toEqual(new Set(['0600']));
    expect(sharedFiles.files).toEqual(new Set(['0640']));
    const first = storedBackup(record, 0);
    const second = storedBackup(record, 1);
    const [one, two] = await Promise.all([first, second].map((b) => readFile(b.location)));
    expect(sha256(one!)).toBe(first.sha256);
    expect(sha256(two!)).toBe(first.sha256);
  });
});

describe('folders under /proc', () => {
  it('fails Upload quickly with a ConfigError that says why, instead of spinning', async () => {
    const workspace = await workspaceWith({ path: '/proc/stepvault-backups', prefix: undefined });
    const started = Date.now();
    const record = await workspace.run('main', { retryDelayMs: 0 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Upload', error: 'ConfigError' });
    expect(record.cause).toContain(
      'destinations.local.path: /proc/stepvault-backups is on proc (a kernel pseudo-filesystem), which cannot hold backups',
    );
    const [mail] = await workspace.outbox();
    expect(mail!.body).toContain('/proc/stepvault-backups is on proc');
  });

  it('a staging folder there fails Dump quickly with a ConfigError, before the tool runs', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor(target, {
        defaults: { staging: '/proc/stepvault-staging', destinations: ['local'], notify: ['desk'] },
      }),
    );
    const started = Date.now();
    const record = await workspace.run('main', { retryDelayMs: 0 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Dump', error: 'ConfigError' });
    expect(record.cause).toMatch(
      /targets\.main\.staging: \/proc\/stepvault-staging\/main-\S+ is on proc \(a kernel pseudo-filesystem\)/,
    );
  });
});

describe('a staged dump copied into a full folder', () => {
  it('fails with the disk named and the cause, leaves nothing behind, and keeps the staged file', async () => {
    const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-full-'));
    const small = path.join(dir, '-small\nfolder');
    await mountTmpfs(small, '1m');
    try {
      // Staged on another disk: copied (not linked), and the copy's writes fail while a read runs.
      const staged = path.join(dir, '-staged.dump');
      const bytes = randomBytes(3 * 1024 * 1024);
      await writeFile(staged, bytes, { mode: 0o600 });
      const sha256 = digest(bytes);
      const storage = new FilesystemStorage('local', { type: 'filesystem', path: small });
      const put = storage.putFile('db/main/one.dump', staged, { size: bytes.length, sha256, metadata: {} });
      await expect(put).rejects.toThrow(/local: .*one\.dump.*(ENOSPC|no space left)/is);
      expect(await readdir(small, { recursive: true })).not.toContainEqual(expect.stringMatching(/one\.dump/));
      expect(digest(await readFile(staged))).toBe(sha256);
      // The space the failed copy took is given back: the next, smaller dump fits.
      const next = randomBytes(256 * 1024);
      const nextSha = digest(next);
      await writeFile(staged, next);
      await storage.putFile('db/main/two.dump', staged, { size: next.length, sha256: nextSha, metadata: {} });
      expect(digest(await readFile(storage.locate('db/main/two.dump')))).toBe(nextSha);
    } finally {
      await unmount(small);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
