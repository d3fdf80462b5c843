/**
 * A MariaDB backup through the real state machine, restored with the mariadb client into a
 * fresh database: table contents, routines, triggers, events, views and generated columns.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariaInventory,
  mariaTableDigests,
  restoreSqlDump,
  loadRichMariadb,
} from './helpers/mariadb.ts';
import { uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, type Workspace, storedBackup } from './helpers/workspace.ts';

const source = uniqueName('sv_maria_source');
const restored = uniqueName('sv_maria_restored');
let workspace: Workspace;
let record: RunRecord;

beforeAll(async () => {
  await createMariaDatabase(source);
  await loadRichMariadb(source);
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor({ engine: 'mariadb', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, database: source }),
  );
  record = await workspace.run('main');
});

afterAll(async () => {
  await dropMariaDatabase(source);
  await dropMariaDatabase(restored);
  await workspace?.remove();
});

describe('MariaDB backup through the workflow', () => {
  it('succeeds and stores a zstd-compressed SQL dump (the default) that ends with the completion mark', async () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.sql\.zst$/);
    const bytes = await readFile(path.join(workspace.dir, 'backups', stored.key));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(stored.sha256);
    const sql = zstdDecompressSync(bytes).toString('utf8');
    expect(sql.trimEnd()).toMatch(/-- Dump completed on .*$/);
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    expect(manifest).toMatchObject({
      engine: 'mariadb',
      compression: 'zstd',
      compressionLevel: 1,
      size: bytes.length,
      sha256: stored.sha256,
    });
    expect(manifest.server.version).toContain('MariaDB');
    expect(manifest.tool.name).toMatch(/mariadb-dump|mysqldump/);
  });

  it('restores into a fresh database with identical contents and objects', async () => {
    await createMariaDatabase(restored);
    await restoreSqlDump(path.join(workspace.dir, 'backups', storedBackup(record).key), restored);

    const [before, after] = await Promise.all([mariaTableDigests(source), mariaTableDigests(restored)]);
    expect(Object.keys(before)).toEqual(['customers', 'log table']);
    expect(before.customers).toMatch(/^304:/);
    expect(after).toEqual(before);

    const [objectsBefore, objectsAfter] = await Promise.all([mariaInventory(source), mariaInventory(restored)]);
    expect(objectsBefore).toMatchObject({
      routines: 'FUNCTION:double_it,PROCEDURE:add_customer',
      triggers: 'customers_ai',
      events: 'purge_log',
      views: 'expensive',
    });
    expect(objectsBefore.generated).toContain('doubled');
    expect(objectsAfter).toEqual(objectsBefore);
  });

  it('leaves staging empty and mails the success', async () => {
    expect(await workspace.stagingEntries()).toEqual([]);
    const mails = await workspace.outbox();
    expect(mails.map((m) => m.headers['x-stepvault-outcome'])).toEqual(['success']);
  });

  it('engine mysql prefers mysqldump and restores the same contents', async () => {
    const mysqlWorkspace = await createWorkspace();
    await mysqlWorkspace.writeConfig(
      configFor({ engine: 'mysql', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, database: source }),
    );
    const mysqlRecord = await mysqlWorkspace.run('main');
    expect(mysqlRecord.status, mysqlRecord.cause).toBe('SUCCEEDED');
    expect(mysqlRecord.state.dump!.tool.name).toBe('mysqldump');
    const copy = uniqueName('sv_mysql_restored');
    await createMariaDatabase(copy);
    try {
      await restoreSqlDump(path.join(mysqlWorkspace.dir, 'backups', storedBackup(mysqlRecord).key), copy);
      expect(await mariaTableDigests(copy)).toEqual(await mariaTableDigests(source));
    } finally {
      await dropMariaDatabase(copy);
      await mysqlWorkspace.remove();
    }
  });
});
