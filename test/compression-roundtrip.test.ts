/**
 * Every compression a target can choose, round-tripped: backed up through the workflow, the
 * manifest saying what was used, the bytes really compressed so, and `stepvault restore` bringing
 * back the same contents into a fresh database. PostgreSQL with the layer's pg_dump 18 (zstd and
 * lz4 need 16+); then what an older pg_dump and pg_restore (15, on PATH here) do with them.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltLayer } from '../layers/dbtools/build.ts';
import { runCli } from './helpers/cli.ts';
import { layerCommand, layerFor } from './helpers/layer.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  loadRichMariadb,
  MARIADB,
  mariaInventory,
  mariaTableDigests,
} from './helpers/mariadb.ts';
import {
  createDatabase,
  dropDatabase,
  loadRichPostgres,
  objectInventory,
  PG,
  tableDigests,
  uniqueName,
} from './helpers/postgres.ts';
import { configFor, createWorkspace, storedBackup, type RunRecord, type Workspace } from './helpers/workspace.ts';

const run = promisify(execFile);
const pgSource = uniqueName('sv_cmp_pg');
const mariaSource = uniqueName('sv_cmp_maria');
const databases: { engine: 'pg' | 'maria'; name: string }[] = [];
const workspaces: Workspace[] = [];
let layer: BuiltLayer;

function scratch(engine: 'pg' | 'maria'): string {
  const name = uniqueName(`sv_cmp_${engine}_into`);
  databases.push({ engine, name });
  return name;
}

/** One backup of `target` through the workflow, with the layer's tools when asked. */
async function backUp(
  target: Record<string, unknown>,
  tools?: 'layer',
): Promise<{ workspace: Workspace; record: RunRecord; manifest: Record<string, unknown>; file: string }> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(configFor(target));
  if (tools === 'layer') process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
  try {
    const record = await workspace.run('main');
    if (record.status !== 'SUCCEEDED') return { workspace, record, manifest: {}, file: '' };
    const stored = storedBackup(record);
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    return { workspace, record, manifest, file: path.join(workspace.dir, 'backups', stored.key) };
  } finally {
    delete process.env.STEPVAULT_TOOLS_DIR;
  }
}

function restoreWith(workspace: Workspace, into: string, tools?: 'layer') {
  const env = { ...process.env };
  if (tools === 'layer') env.STEPVAULT_TOOLS_DIR = layer.layerDir;
  else delete env.STEPVAULT_TOOLS_DIR;
  return runCli(['restore', '--target', 'main', '--into', into], { cwd: workspace.dir, env });
}

/** The archive's own header, as the layer's pg_restore reads it. */
async function archiveCompression(file: string): Promise<string | undefined> {
  const [tool, args] = layerCommand(layer, 'pg_restore', ['--list', file]);
  const { stdout } = await run(tool, args);
  return /Compression:\s*(\S+)/.exec(stdout)?.[1];
}

const pgTarget = (dump?: Record<string, unknown>) => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  database: pgSource,
  ...(dump && { dump }),
});

const mariaTarget = (dump?: Record<string, unknown>) => ({
  engine: 'mariadb',
  host: MARIADB.host,
  port: MARIADB.port,
  user: MARIADB.user,
  database: mariaSource,
  ...(dump && { dump }),
});

beforeAll(async () => {
  layer = await layerFor('x86_64');
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
});

afterAll(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  for (const { engine, name } of databases) await (engine === 'pg' ? dropDatabase(name) : dropMariaDatabase(name));
  await Promise.all(workspaces.map((w) => w.remove()));
});

describe('PostgreSQL, each compression through pg_dump 18 and back with stepvault restore', () => {
  it.each([
    { dump: undefined, method: 'zstd', level: 1, header: 'zstd' },
    { dump: { compression: 'zstd', compressionLevel: 6 }, method: 'zstd', level: 6, header: 'zstd' },
    { dump: { compression: 'lz4' }, method: 'lz4', level: undefined, header: 'lz4' },
    { dump: { compression: 'gzip', compressionLevel: 1 }, method: 'gzip', level: 1, header: 'gzip' },
    { dump: { compressionLevel: 0 }, method: 'none', level: undefined, header: 'none' },
  ])(
    'dump $dump: recorded as $method (level $level) and restored identical',
    async ({ dump, method, level, header }) => {
      const { workspace, record, manifest, file } = await backUp(pgTarget(dump), 'layer');
      expect(record.status, record.cause).toBe('SUCCEEDED');
      expect(manifest).toMatchObject({ compression: method, tool: { name: 'pg_dump' } });
      expect(manifest.compressionLevel).toBe(level);
      expect(String((manifest.tool as { version: string }).version)).toMatch(/^18\./);
      expect(await archiveCompression(file)).toBe(header);
      // Rows are counted for the restore drill only, and this target has none.
      expect(manifest.rowCounts).toBeUndefined();

      const into = scratch('pg');
      const restored = await restoreWith(workspace, `postgres://postgres@127.0.0.1:${PG.port}/${into}`, 'layer');
      expect(restored.code, restored.stderr).toBe(0);
      expect(await tableDigests(into)).toEqual(await tableDigests(pgSource));
      expect(await objectInventory(into)).toEqual(await objectInventory(pgSource));
    },
  );
});

describe('PostgreSQL with tools older than 16', () => {
  it('a zstd backup: pg_restore 15 is refused before anything is created, naming the version that reads it', async () => {
    const { workspace, record } = await backUp(pgTarget(), 'layer');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const into = scratch('pg');
    const refused = await restoreWith(workspace, `postgres://postgres@127.0.0.1:${PG.port}/${into}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /pg_restore 15\.\d+ cannot read this backup: it is compressed with zstd \(pg_restore 16\+ reads that\), and pg_dump 18\.\d+ wrote it \(pg_restore 17\+ reads its archive format\)\. Use pg_restore 17 or newer/,
    );
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const exists = await run('psql', [
      '-h',
      PG.host,
      '-U',
      PG.user,
      '-XAtqc',
      `SELECT count(*) FROM pg_database WHERE datname = '${into}'`,
    ]);
    expect(exists.stdout.trim()).toBe('0');
  });

  it('the default falls back to gzip on pg_dump 15, records it and says so in the log', async () => {
    const { workspace, record, manifest } = await backUp(pgTarget());
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(manifest).toMatchObject({ compression: 'gzip', tool: { name: 'pg_dump' } });
    expect(manifest).not.toHaveProperty('compressionLevel');
    expect(record.logs.join('\n')).toMatch(
      /pg_dump 15\.\d+ cannot write the default zstd:1 \(pg_dump 16\+ can\): the archive is compressed with gzip instead/,
    );
    const into = scratch('pg');
    const restored = await restoreWith(workspace, `postgres://postgres@127.0.0.1:${PG.port}/${into}`);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await tableDigests(into)).toEqual(await tableDigests(pgSource));
  });

  it('zstd asked for by the config fails the run on pg_dump 15 at once, with the fix', async () => {
    const { workspace, record } = await backUp(pgTarget({ compression: 'zstd' }));
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('Dump');
    expect(record.error).toBe('VersionMismatchError');
    expect(record.events.some((e) => e.type === 'state-retried')).toBe(false);
    const [mail] = await workspace.outbox();
    expect(mail!.body).toMatch(
      /targets\.main\.dump\.compression is zstd, which pg_dump 15\.\d+ cannot write: zstd and lz4 need pg_dump 16 or newer\. Use the dbtools layer \(it ships the newest client\) or set dump\.compression: gzip/,
    );
  });
});

describe('MariaDB, each compression and back with stepvault restore', () => {
  const ZSTD_MAGIC = /^28b52ffd/;
  const GZIP_MAGIC = /^1f8b/;
  // SQL text: mariadb-dump starts with a comment, `--` or (10.11.8+) `/*M!999999\- enable the sandbox mode */`.
  const SQL_TEXT = /^(2d2d|2f2a)/;
  it.each([
    { dump: undefined, method: 'zstd', level: 1, extension: '.sql.zst', magic: ZSTD_MAGIC },
    {
      dump: { compression: 'zstd', compressionLevel: 9 },
      method: 'zstd',
      level: 9,
      extension: '.sql.zst',
      magic: ZSTD_MAGIC,
    },
    { dump: { compression: 'gzip' }, method: 'gzip', level: undefined, extension: '.sql.gz', magic: GZIP_MAGIC },
    { dump: { compressionLevel: 1 }, method: 'gzip', level: 1, extension: '.sql.gz', magic: GZIP_MAGIC },
    { dump: { compression: 'none' }, method: 'none', level: undefined, extension: '.sql', magic: SQL_TEXT },
  ])(
    'dump $dump: a $extension recorded as $method (level $level), restored identical',
    async ({ dump, method, level, extension, magic }) => {
      const { workspace, record, manifest, file } = await backUp(mariaTarget(dump));
      expect(record.status, record.cause).toBe('SUCCEEDED');
      expect(file.endsWith(extension)).toBe(true);
      expect(manifest.compression).toBe(method);
      expect(manifest.compressionLevel).toBe(level);
      expect((await readFile(file)).subarray(0, 4).toString('hex')).toMatch(magic);

      const into = scratch('maria');
      const restored = await restoreWith(workspace, `mariadb://root@${MARIADB.host}:${MARIADB.port}/${into}`);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await mariaTableDigests(into)).toEqual(await mariaTableDigests(mariaSource));
      expect(await mariaInventory(into)).toEqual(await mariaInventory(mariaSource));
    },
  );
});
