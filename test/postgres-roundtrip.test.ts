/**
 * A PostgreSQL backup through the real state machine, restored with pg_restore into a fresh
 * database: every table's contents and every kind of object must come back the same.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  createDatabase,
  defaultPgCompression,
  dropDatabase,
  objectInventory,
  PG,
  pgRestore,
  tableDigests,
  uniqueName,
  loadRichPostgres,
} from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, type Workspace, storedBackup } from './helpers/workspace.ts';

const source = uniqueName('sv_pg_source');
const restored = uniqueName('sv_pg_restored');
let workspace: Workspace;
let record: RunRecord;

beforeAll(async () => {
  await createDatabase(source);
  await loadRichPostgres(source);
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: source }),
  );
  record = await workspace.run('main');
});

afterAll(async () => {
  await dropDatabase(source);
  await dropDatabase(restored);
  await workspace?.remove();
});

describe('PostgreSQL backup through the workflow', () => {
  it('succeeds, passing every state of the success path in order', () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const entered = record.events
      .filter((e) => e.type === 'state-entered' && e.index === undefined)
      .map((e) => e.state);
    expect(entered).toEqual([
      'IsDoctor',
      'Plan',
      'ChooseRunner',
      'Dump',
      'IsRdsBackup',
      'Upload',
      'Verify',
      'Prune',
      'NotifySuccess',
      'Cleanup',
      'Done',
    ]);
    const perDestination = record.events
      .filter((e) => e.type === 'state-entered' && e.index !== undefined)
      .map((e) => e.state);
    expect(perDestination).toEqual(['UploadToDestination']);
  });

  it('stores the dump under <prefix>/<target>/<YYYYMMDD>/<target>-<timestamp>.dump with its manifest', async () => {
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.dump$/);
    expect(stored.key.split('/')[2]).toBe(stored.key.split('-')[1]!.slice(0, 8));
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    const bytes = await readFile(path.join(workspace.dir, 'backups', stored.key));
    expect(manifest).toMatchObject({
      engine: 'postgres',
      database: source,
      target: 'main',
      key: stored.key,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      compression: defaultPgCompression(),
      tool: { name: 'pg_dump' },
    });
    expect(manifest.tool.version).toMatch(/^\d+\.\d+/);
    expect(manifest.server.version).toMatch(/^\d+\.\d+/);
    expect(manifest.runId).toBe(record.state.plan!.runId);
  });

  it('restores into a fresh database with identical table contents and objects', async () => {
    const stored = storedBackup(record);
    await createDatabase(restored);
    await pgRestore(path.join(workspace.dir, 'backups', stored.key), restored);

    const [before, after] = await Promise.all([tableDigests(source), tableDigests(restored)]);
    expect(Object.keys(before)).toContain('sales.orders');
    expect(Object.keys(before)).toContain('"Weird ""Schema"" Ü"."Table With ""Quotes"" & Spaces"');
    expect(Object.keys(before)).toContain('public.events_2025');
    expect(after).toEqual(before);

    const [objectsBefore, objectsAfter] = await Promise.all([objectInventory(source), objectInventory(restored)]);
    expect(objectsBefore.largeObjects).toMatch(/^2:/);
    expect(objectsBefore.sequences).toContain('sales.invoice_no=4242');
    expect(objectsAfter).toEqual(objectsBefore);
  });

  it('writes a success mail naming the target, size and where the backup is', async () => {
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.headers.subject).toContain('main: backup succeeded');
    expect(mail.headers.to).toBe('ops@example.test');
    expect(mail.body).toMatch(new RegExp(`Database: +${source}\n`));
    expect(mail.body).toContain(storedBackup(record).location);
    expect(mail.body).toContain(record.state.dump!.sha256);
  });

  it('leaves staging empty and reports dump progress', async () => {
    expect(await workspace.stagingEntries()).toEqual([]);
    expect(record.progress.filter((p) => p.state === 'Dump').at(-1)?.bytes).toBe(record.state.dump!.size);
  });
});
