/**
 * Parallel PostgreSQL dumps (dump.jobs: 2) with the dbtools layer's pg_dump 18: pg_dump's
 * directory format stored as one tar object, through the efs runner (staged) and the fargate
 * runner (an ECS task streaming into its destination), restored with `stepvault restore` (unpacked
 * and run through pg_restore -j 2), restored again by the drill, and a server that dies mid-dump.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltLayer } from '../layers/dbtools/build.ts';
import type { ConnectedTarget } from '../src/config/load.ts';
import { startArchiveCheck } from '../src/dumpers/pg-archive-check.ts';
import { resolveTool } from '../src/tools/resolver.ts';
import { CLI, runCli } from './helpers/cli.ts';
import { publishedBackups } from './helpers/faults.ts';
import { layerFor } from './helpers/layer.ts';
import { type PgCluster, startCluster } from './helpers/pg-cluster.ts';
import {
  createDatabase,
  dropDatabase,
  loadRichPostgres,
  objectInventory,
  PG,
  psql,
  tableDigests,
  uniqueName,
} from './helpers/postgres.ts';
import { configFor, type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';
import { getConnectedTarget, loadConfig } from '../src/config/load.ts';
import { postgresDirectoryDumper } from '../src/dumpers/postgres-directory.ts';

const run = promisify(execFile);
const pool = workspacePool();
const cleanups: (() => Promise<unknown>)[] = [];
const source = uniqueName('sv_jobs_source');
let layer: BuiltLayer;

beforeAll(async () => {
  layer = await layerFor('x86_64');
  await createDatabase(source);
  await loadRichPostgres(source);
  // A few more tables than the rich database has, so that two workers both have work.
  for (let i = 0; i < 4; i++)
    await psql(
      source,
      `CREATE TABLE public.bulk_${i} AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g`,
    );
  cleanups.push(() => dropDatabase(source));
}, 300_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await pool.removeAll();
});

/** Runs with the layer's tools (pg_dump 18), as the Lambda functions and the task image do. */
async function withLayer<T>(action: () => Promise<T>): Promise<T> {
  process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
  try {
    return await action();
  } finally {
    delete process.env.STEPVAULT_TOOLS_DIR;
  }
}

const target = (extra: Record<string, unknown> = {}) => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  database: source,
  dump: { jobs: 2 },
  ...extra,
});

/** `stepvault restore` into a new database, with the layer's pg_restore; the database is compared with the source. */
async function restoreAndCompare(workspace: Workspace, extraArgs: string[] = []): Promise<string> {
  const restored = uniqueName('sv_jobs_restored');
  cleanups.push(() => dropDatabase(restored));
  const url = `postgres://${PG.user}@${PG.host}:${PG.port}/${restored}`;
  const result = await runCli(['restore', '--target', 'main', '--into', url, ...extraArgs], {
    cwd: workspace.dir,
    env: { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir },
  });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  expect(await tableDigests(restored)).toEqual(await tableDigests(source));
  expect(await objectInventory(restored)).toEqual(await objectInventory(source));
  return result.stdout + result.stderr;
}

async function expectDirectoryTar(file: string, record: RunRecord): Promise<void> {
  const bytes = await readFile(file);
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(record.state.dump!.sha256);
  const listed = (await run('tar', ['-tf', file])).stdout.trim().split('\n');
  expect(listed[0]).toBe('dump/');
  expect(listed).toContain('dump/toc.dat');
  expect(listed.filter((name) => /^dump\/\d+\.dat/.test(name)).length).toBeGreaterThan(4);
}

describe('dump.jobs: 2 on the efs runner', () => {
  let workspace: Workspace;
  let record: RunRecord;

  beforeAll(async () => {
    workspace = await pool.withConfig(configFor(target()));
    record = await withLayer(() => workspace.run('main'));
  }, 300_000);

  it('stores pg_dump 18’s directory format as one .dump.tar, its manifest saying so', async () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.plan).toMatchObject({ runner: 'efs' });
    expect(record.state.dump).toMatchObject({
      kind: 'staged',
      compression: 'directory',
      layout: { kind: 'directory-tar', jobs: 2 },
      tool: { name: 'pg_dump', version: expect.stringMatching(/^18\./) },
    });
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.dump\.tar$/);
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    expect(manifest).toMatchObject({ layout: { kind: 'directory-tar', jobs: 2 }, sha256: record.state.dump!.sha256 });
    // Rows are counted for the restore drill only (see the drill's test below for the counts).
    expect(manifest.rowCounts).toBeUndefined();
    await expectDirectoryTar(path.join(workspace.dir, 'backups', stored.key), record);
    expect(record.progress.filter((p) => p.state === 'Dump').at(-1)?.bytes).toBe(record.state.dump!.size);
  });

  it('restores with stepvault restore (pg_restore --jobs 2 from the manifest) into identical contents', async () => {
    await restoreAndCompare(workspace);
  });

  it('leaves neither the staged dump nor pg_dump’s folder in staging', async () => {
    expect(await workspace.stagingEntries()).toEqual([]);
  });
});

describe('dump.jobs: 2 on the fargate runner', () => {
  it('the task dumps into its ephemeral storage, streams the tar into the destination, and it restores identical', async () => {
    // The tasks' storage folders go into a temporary folder of this test's own, to be seen empty after.
    const temporary = await mkdtemp(path.join(tmpdir(), 'sv-jobs-tmp-'));
    cleanups.push(() => rm(temporary, { recursive: true, force: true }));
    const workspace = await pool.withConfig(configFor(target({ runner: 'fargate' })));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temporary;
    const record = await withLayer(() => workspace.run('main')).finally(() => {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    });
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump).toMatchObject({ kind: 'streamed', layout: { kind: 'directory-tar', jobs: 2 } });
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/\.dump\.tar$/);
    await expectDirectoryTar(path.join(workspace.dir, 'backups', stored.key), record);
    // Restored with one job asked for: --jobs overrides the manifest's.
    await restoreAndCompare(workspace, ['--jobs', '1']);
    // The task's storage (its TMPDIR, where pg_dump's folder was) went with the task.
    expect(await readdir(temporary)).toEqual([]);
  });
});

describe('the archive check of pg_dump’s folder, two passes for two workers', () => {
  let folder: string;
  const check = (directory: string, drill: boolean) => {
    const pgRestore = resolveTool(['pg_restore'], { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir });
    const checked = { name: 'main', ...(drill && { verify: { drill: {} } }) } as unknown as ConnectedTarget;
    return startArchiveCheck(pgRestore, checked, { directory, workers: 2 }).result();
  };

  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'stepvault-check-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    const pgDump = resolveTool(['pg_dump'], { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir });
    await run(pgDump.file, [
      ...pgDump.prefixArgs,
      '--format=directory',
      '--jobs=2',
      '--compress=zstd:1',
      `--file=${path.join(folder, 'dump')}`,
      `--dbname=postgres://${PG.user}@${PG.host}:${PG.port}/${source}`,
    ]);
  }, 120_000);

  /** The folder's data files, largest first. */
  const dataFiles = async (dir: string) =>
    (
      await Promise.all(
        (
          await readdir(dir)
        )
          .filter((name) => /^\d+\.dat/.test(name))
          .map(async (name) => ({ name, size: (await stat(path.join(dir, name))).size })),
      )
    ).sort((a, b) => b.size - a.size);

  it('reads every data file and counts every row, as one pass would', async () => {
    const checked = await check(path.join(folder, 'dump'), true);
    expect(checked.serverVersion).toMatch(/^\d+\.\d+/);
    const rows = Number(await psql(source, 'SELECT count(*) FROM public.bulk_0'));
    expect(checked.rowCounts?.['public.bulk_0']).toBe(rows);
    const pgRestore = resolveTool(['pg_restore'], { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir });
    const drilled = { name: 'main', verify: { drill: {} } } as unknown as ConnectedTarget;
    const onePass = await startArchiveCheck(pgRestore, drilled, { directory: path.join(folder, 'dump') }).result();
    expect(checked.rowCounts).toEqual(onePass.rowCounts);
  });

  it.each([
    ['the largest data file, the first pass’s', 0],
    ['the second largest, the second pass’s', 1],
  ])('refuses the folder when %s is cut short', async (_what, rank) => {
    const copy = path.join(folder, `cut-${rank}`);
    await cp(path.join(folder, 'dump'), copy, { recursive: true });
    const victim = (await dataFiles(copy))[rank]!;
    await truncate(path.join(copy, victim.name), Math.floor(victim.size / 2));
    await expect(check(copy, false)).rejects.toThrow(
      `the dump of main is incomplete or unreadable (${victim.name}: the zstd stream ends before its last block`,
    );
  });
});

describe('a folder of lz4 or gzip data files cut short', () => {
  it.each([['lz4'], ['gzip:1']])('is refused by the archive check (%s)', async (compression) => {
    const folder = await mkdtemp(path.join(tmpdir(), 'stepvault-check-'));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    const dump = path.join(folder, 'dump');
    const tools = { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir };
    const pgDump = resolveTool(['pg_dump'], tools);
    await run(pgDump.file, [
      ...pgDump.prefixArgs,
      '--format=directory',
      '--jobs=2',
      `--compress=${compression}`,
      `--file=${dump}`,
      `--dbname=postgres://${PG.user}@${PG.host}:${PG.port}/${source}`,
    ]);
    const pgRestore = resolveTool(['pg_restore'], tools);
    const target = { name: 'main' } as unknown as ConnectedTarget;
    const check = () => startArchiveCheck(pgRestore, target, { directory: dump, workers: 2 }).result();
    expect((await check()).serverVersion).toMatch(/^\d+/);
    const largest = (await readdir(dump)).filter((name) => /^\d+\.dat\./.test(name));
    const sizes = await Promise.all(largest.map(async (name) => (await stat(path.join(dump, name))).size));
    const victim = largest[sizes.indexOf(Math.max(...sizes))]!;
    await truncate(path.join(dump, victim), Math.floor(Math.max(...sizes) / 2));
    await expect(check()).rejects.toThrow(`the dump of main is incomplete or unreadable (${victim}: the `);
  });
});

describe('the restore drill on a parallel dump', () => {
  it('unpacks the staged tar, restores it with two jobs into a scratch database and finds every row', async () => {
    const workspace = await pool.withConfig(
      configFor(
        target({
          verify: { drill: { into: `postgres://${PG.user}@${PG.host}:${PG.port}/sv_jobs_drill` } },
        }),
      ),
    );
    const record = await withLayer(() => workspace.run('main'));
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const drill = record.state.verify?.drill;
    expect(drill).toMatchObject({ tables: expect.any(Number), rows: expect.any(Number) });
    expect(drill!.rows).toBeGreaterThanOrEqual(80000);
    expect(await workspace.stagingEntries()).toEqual([]);
  });
});

describe('a parallel dump refused by the server (pg_dump --verbose)', () => {
  it('reports pg_dump’s error, not a progress line that names a table called failed_jobs', async () => {
    const database = uniqueName('sv_jobs_denied');
    const role = uniqueName('sv_jobs_reader');
    cleanups.push(
      () => psql('postgres', `DROP ROLE IF EXISTS ${role}`),
      () => dropDatabase(database),
    );
    await createDatabase(database);
    await psql(
      database,
      `CREATE TABLE failed_jobs (id int PRIMARY KEY, why text);
       INSERT INTO failed_jobs SELECT g, 'error ' || g FROM generate_series(1, 5000) g;
       CREATE TABLE ledger (id int PRIMARY KEY);
       INSERT INTO ledger SELECT generate_series(1, 10);
       -- pg_dump refuses a table its user sees through a row-level security policy, when it
       -- reads the table's rows: after its progress lines have named the tables.
       ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
       CREATE POLICY some_rows ON ledger USING (id < 5);
       CREATE ROLE ${role} LOGIN;
       GRANT SELECT ON failed_jobs, ledger TO ${role};`,
    );
    const workspace = await pool.withConfig(configFor(target({ database, user: role })));
    const record = await withLayer(() => workspace.run('main'));
    expect(record.status).toBe('FAILED');
    expect(record.error, record.cause).toBe('DumpError');
    expect(record.cause).toMatch(
      /failed: pg_dump: error: query failed: .*row-level security policy for table .{1,3}ledger/,
    );
    expect(record.cause).not.toMatch(/dumping contents|finished item/);
    expect(await readdir(path.join(workspace.dir, 'staging'), { recursive: true })).toEqual([]);
  }, 120_000);
});

describe('a table whose name fakes pg_dump’s "finished item" line', () => {
  it('never stores a data file before it is whole: the dump restores identical, or is refused', async () => {
    const database = uniqueName('sv_jobs_forged');
    cleanups.push(() => dropDatabase(database));
    await createDatabase(database);
    await psql(
      database,
      `CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 300000) g;
       CREATE TABLE forged (id int);
       INSERT INTO forged VALUES (1);`,
    );
    // The dump id of big's data, from a dump of the same catalog (renaming keeps the ids).
    const pgDump = resolveTool(['pg_dump'], { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir });
    const pgRestore = resolveTool(['pg_restore'], { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir });
    const probe = await mkdtemp(path.join(tmpdir(), 'stepvault-forged-'));
    cleanups.push(() => rm(probe, { recursive: true, force: true }));
    const url = `--dbname=postgres://${PG.user}@${PG.host}:${PG.port}/${database}`;
    await run(pgDump.file, [...pgDump.prefixArgs, '--format=directory', `--file=${probe}/dump`, url]);
    const { stdout: listing } = await run(pgRestore.file, [...pgRestore.prefixArgs, '--list', `${probe}/dump`]);
    const bigId = /^(\d+); \d+ \d+ TABLE DATA public big /m.exec(listing)?.[1];
    expect(bigId).toBeDefined();
    const forged = `x\npg_dump: finished item ${bigId} TABLE DATA y`;
    await psql(database, `ALTER TABLE forged RENAME TO "${forged}"`);

    const workspace = await pool.withConfig(configFor(target({ database })));
    const record = await withLayer(() => workspace.run('main'));
    if (record.status === 'SUCCEEDED') {
      // The forged line came after big's file was whole: what was stored must restore identical.
      const restored = uniqueName('sv_jobs_forged_restored');
      cleanups.push(() => dropDatabase(restored));
      const result = await runCli(
        ['restore', '--target', 'main', '--into', `postgres://${PG.user}@${PG.host}:${PG.port}/${restored}`],
        { cwd: workspace.dir, env: { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir } },
      );
      expect(result.code, result.stdout + result.stderr).toBe(0);
      const big = `SELECT count(*) || ':' || md5(string_agg(id || v, ',' ORDER BY id)) FROM big`;
      expect(await psql(restored, big)).toBe(await psql(database, big));
      expect(await psql(restored, `SELECT count(*) FROM "${forged}"`)).toBe('1');
    } else {
      expect(record.error, record.cause).toBe('DumpError');
      expect(record.cause).toMatch(
        new RegExp(
          `not what was stored: ${bigId}\\.dat\\.\\w+ changed (after it was stored \\([^)]*\\)|size while it was stored), as if pg_dump`,
        ),
      );
      expect(await publishedBackups(path.join(workspace.dir, 'backups'))).toEqual({ backups: [], orphans: [] });
    }
  }, 180_000);
});

describe('a destination that fails while a parallel dump streams into it', () => {
  it('stops pg_dump, reports the destination’s error (not pg_dump’s SIGTERM) and removes the scratch folder', async () => {
    const workspace = await pool.withConfig(configFor(target()));
    const connected = getConnectedTarget(loadConfig(workspace.configFile), 'main');
    const scratchFolders = async () =>
      (await readdir(tmpdir())).filter((name) => name.startsWith('.pg-directory-')).sort();
    const before = await scratchFolders();
    const gone = new Error('the destination went away');
    // The tar's first bytes (the folder's entry) come before pg_dump has finished any table.
    const failing = withLayer(() =>
      postgresDirectoryDumper.dumpInto!({
        target: connected,
        sink: async (body) => {
          for await (const _chunk of body) throw gone;
          throw new Error('the tar ended without a byte');
        },
      }),
    );
    await expect(failing).rejects.toBe(gone);
    expect(await scratchFolders()).toEqual(before);
    expect(await psql(source, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'`)).toBe('0');
  }, 120_000);
});

describe('a PostgreSQL killed during a parallel dump', () => {
  let cluster: PgCluster;

  beforeAll(async () => {
    cluster = await startCluster();
    await psql('postgres', 'CREATE DATABASE orders', cluster.port);
    // Text that compresses poorly, enough of it that pg_dump's workers need seconds.
    for (let i = 0; i < 8; i++)
      await psql(
        'orders',
        `CREATE TABLE t${i} AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 150000) g`,
        cluster.port,
      );
  }, 180_000);

  afterAll(async () => {
    await cluster?.remove();
  });

  it('fails with a ConnectionError, publishes nothing, and leaves no scratch folder behind', async () => {
    const workspace = await pool.withConfig(
      configFor({
        engine: 'postgres',
        host: '127.0.0.1',
        port: cluster.port,
        user: 'postgres',
        database: 'orders',
        dump: { jobs: 2 },
      }),
    );
    const child = spawn(
      process.execPath,
      [CLI, 'run', '--retry-delay-ms', '10', '--config', workspace.configFile, '--target', 'main'],
      {
        cwd: workspace.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir },
      },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    // Mid-dump: pg_dump's folder has data files filling up.
    await waitFor(async () => {
      const entries = await readdir(path.join(workspace.dir, 'staging'), { recursive: true }).catch(() => []);
      for (const entry of entries.map(String).filter((e) => /\.pg-directory-[^/]+\/dump\/\d+\.dat/.test(e)))
        if (((await stat(path.join(workspace.dir, 'staging', entry)).catch(() => undefined))?.size ?? 0) > 64 * 1024)
          return true;
      return false;
    });
    await cluster.kill();
    const exitCode = await exited;
    expect(exitCode, stdout).toBe(1);
    expect(stdout).toMatch(/Backup of main FAILED in Dump: ConnectionError: /);
    const failure = (await workspace.outbox()).filter((m) => m.headers['x-stepvault-outcome'] === 'failure');
    expect(failure).toHaveLength(1);
    expect(failure[0]!.body).toMatch(/cannot reach PostgreSQL for target main /);
    expect(await readdir(path.join(workspace.dir, 'staging'), { recursive: true })).toEqual([]);
    expect(await publishedBackups(path.join(workspace.dir, 'backups'))).toEqual({ backups: [], orphans: [] });
    expect(await readdir(path.join(workspace.dir, 'backups'), { recursive: true }).catch(() => [])).toEqual([]);
  }, 240_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
