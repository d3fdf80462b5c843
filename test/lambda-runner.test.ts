/**
 * The lambda runner through the real state machine: the dump streamed straight into the first
 * destination (nothing staged: the staging path is a file, so anything staged would fail), copied
 * to the others, restored from the copy into a fresh database and compared; and its failure
 * branches, each leaving nothing published and nothing half-written in the destination.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { truncatingTool } from './helpers/fake-tools.ts';
import { spawn } from 'node:child_process';
import { CLI } from './helpers/cli.ts';
import { mountTmpfs, processesMentioning, publishedBackups, unmount, waitFor } from './helpers/faults.ts';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb } from './helpers/mariadb.ts';
import {
  createDatabase,
  defaultPgCompression,
  dropDatabase,
  loadRichPostgres,
  PG,
  psql,
  uniqueName,
} from './helpers/postgres.ts';
import {
  entered,
  filesIn,
  mariadbTarget,
  postgresTarget,
  retries,
  roundTrips,
  runnerWorkspace,
} from './helpers/runner-suite.ts';
import { type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_lambda_pg');
const mariaSource = uniqueName('sv_lambda_maria');
const scratch: string[] = [];
const restore = roundTrips();
const workspaces = workspacePool();
const mounts: string[] = [];
let toolsDir: string | undefined;

beforeAll(async () => {
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
});

afterAll(async () => {
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  await restore.dropAll();
  for (const database of scratch) await dropDatabase(database).catch(() => undefined);
  for (const dir of mounts) await unmount(dir);
  await workspaces.removeAll();
});

afterEach(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  if (toolsDir) await rm(toolsDir, { recursive: true, force: true });
  toolsDir = undefined;
});

const pgTarget = postgresTarget(pgSource);
const mariaTarget = mariadbTarget(mariaSource);

/** A lambda-runner config into a folder, then a second folder; nothing can be staged. */
function lambdaWorkspace(target: Record<string, unknown>) {
  return runnerWorkspace(workspaces, 'lambda', target, {
    local: { type: 'filesystem', path: './backups', prefix: 'db' },
    copy: { type: 'filesystem', path: './copies' },
  });
}

async function expectSuccess(workspace: Workspace, record: RunRecord): Promise<void> {
  expect(record.status, record.cause).toBe('SUCCEEDED');
  expect(entered(record)).toEqual([
    'IsDoctor',
    'Plan',
    'ChooseRunner',
    'StreamDump',
    'Upload',
    'Verify',
    'Prune',
    'NotifySuccess',
    'Cleanup',
    'Done',
  ]);
  expect(record.state.plan).toMatchObject({ runner: 'lambda', runnerReason: 'targets.main.runner is lambda' });
  expect(record.state.dump).toMatchObject({ kind: 'streamed', destination: 'local' });
  expect(record.state.cleanup).toEqual({ removed: [], aborted: [], abortFailed: [] });
  // The same bytes in both destinations, each with a manifest that describes them.
  for (const folder of ['backups', 'copies']) {
    const { backups, orphans } = await publishedBackups(path.join(workspace.dir, folder));
    expect(orphans, folder).toEqual([]);
    expect(backups, folder).toHaveLength(1);
    expect(backups[0]!.sha256).toBe(record.state.dump!.sha256);
    expect(backups[0]!.manifestSha256).toBe(record.state.dump!.sha256);
  }
  expect(record.progress.filter((p) => p.state === 'StreamDump').at(-1)?.bytes).toBe(record.state.dump!.size);
  const mails = await workspace.outbox();
  expect(mails).toHaveLength(1);
  expect(mails[0]!.body).toMatch(/Runner: +lambda \(targets\.main\.runner is lambda\)\n/);
}

describe('runner lambda, PostgreSQL', () => {
  it('streams the dump into the first destination, copies it, and restores it with identical contents', async () => {
    const workspace = await lambdaWorkspace(pgTarget);
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const copy = storedBackup(record, 1);
    expect(copy.destination).toBe('copy');
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'copies', copy.manifestKey), 'utf8'));
    expect(manifest).toMatchObject({
      engine: 'postgres',
      compression: defaultPgCompression(),
      tool: { name: 'pg_dump' },
    });
    expect(manifest.server.version).toMatch(/^\d+\.\d+/);
    // Rows are counted for the restore drill only, which a streamed dump cannot have: no counts.
    expect(manifest.rowCounts).toBeUndefined();

    await restore.postgres(path.join(workspace.dir, 'copies', copy.key), pgSource);
  });
});

describe('runner lambda, MariaDB', () => {
  it('streams the dump into the first destination, copies it, and restores it with identical contents', async () => {
    const workspace = await lambdaWorkspace(mariaTarget);
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const stored = storedBackup(record, 0);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.sql\.zst$/);

    await restore.mariadb(path.join(workspace.dir, 'backups', stored.key), mariaSource);
  });
});

describe('runner lambda, failure branches', () => {
  async function expectFailed(workspace: Workspace, record: RunRecord, error: string, cause: RegExp) {
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('StreamDump');
    expect(record.error).toBe(error);
    expect(entered(record).slice(-4)).toEqual([
      'StreamDumpFailed',
      'NotifyFailure',
      'CleanupAfterFailure',
      'BackupFailed',
    ]);
    // Nothing published, nothing half-written, in either destination.
    expect(await filesIn(workspace, 'backups')).toEqual([]);
    expect(await filesIn(workspace, 'copies')).toEqual([]);
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.headers.subject).toContain(`backup FAILED in StreamDump (${error})`);
    expect(mails[0]!.body).toMatch(/Runner: +lambda \(targets\.main\.runner is lambda\)\n/);
    expect(mails[0]!.body).toMatch(cause);
    expect(mails[0]!.body).toContain('Nothing was staged; any upload the run left open is aborted next.');
  }

  async function useFakeTools(setup: (dir: string) => Promise<void>): Promise<void> {
    toolsDir = await mkdtemp(path.join(tmpdir(), 'stepvault-tools-'));
    await setup(toolsDir);
    process.env.STEPVAULT_TOOLS_DIR = toolsDir;
  }

  it('a database that is down is retried, then reported', async () => {
    const workspace = await lambdaWorkspace({ ...pgTarget, port: 1 });
    const record = await workspace.run('main');
    await expectFailed(workspace, record, 'ConnectionError', /cannot reach PostgreSQL for target main/);
    expect(retries(record, 'StreamDump')).toBe(3);
  });

  it('a pg_dump that dies halfway publishes nothing', async () => {
    await useFakeTools((dir) => truncatingTool(dir, 'pg_dump', 4096, 1));
    const workspace = await lambdaWorkspace(pgTarget);
    const record = await workspace.run('main');
    await expectFailed(workspace, record, 'DumpError', /pg_dump of main/);
  });

  it('a pg_dump that exits 0 with a truncated archive is refused by the archive check on the stream', async () => {
    await useFakeTools((dir) => truncatingTool(dir, 'pg_dump', 8192, 0));
    const workspace = await lambdaWorkspace(pgTarget);
    const record = await workspace.run('main');
    await expectFailed(workspace, record, 'DumpError', /the dump of main is incomplete or unreadable/);
  });

  it('a mariadb-dump that exits 0 without its completion line publishes nothing', async () => {
    await useFakeTools(async (dir) => {
      await truncatingTool(dir, 'mariadb-dump', 8192, 0);
      await truncatingTool(dir, 'mysqldump', 8192, 0);
    });
    const workspace = await lambdaWorkspace(mariaTarget);
    const record = await workspace.run('main');
    await expectFailed(workspace, record, 'DumpError', /does not end with "-- Dump completed"/);
  });

  it('a destination that fills up mid-stream publishes nothing and leaves no partial file', async () => {
    const big = uniqueName('sv_lambda_big');
    scratch.push(big);
    await createDatabase(big);
    // Random text compresses poorly: the dump is several times the 1 MiB the destination has.
    await psql(
      big,
      `CREATE TABLE t AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 100000) g`,
    );
    const workspace = await lambdaWorkspace({ ...pgTarget, database: big });
    const small = path.join(workspace.dir, 'backups');
    await mountTmpfs(small, '1m');
    mounts.push(small);
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('StreamDump');
    expect(await filesIn(workspace, 'backups')).toEqual([]);
    expect(await filesIn(workspace, 'copies')).toEqual([]);
    const mails = await workspace.outbox();
    expect(mails[0]!.headers.subject).toContain('backup FAILED in StreamDump');
  });

  it('SIGINT during StreamDump stops pg_dump, closes the write, exits 130 and publishes nothing', async () => {
    const locked = uniqueName('sv_lambda_locked');
    scratch.push(locked);
    await createDatabase(locked);
    await psql(locked, 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
    // Another session's exclusive lock: a real pg_dump waits on the table, mid-dump, until the test lets go.
    const locker = spawn(
      'psql',
      [
        '-h',
        PG.host,
        '-p',
        String(PG.port),
        '-U',
        PG.user,
        '-d',
        locked,
        '-Xq',
        '-c',
        'BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)',
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(
        'the lock',
        async () =>
          (await psql(
            locked,
            `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.granted AND l.mode = 'AccessExclusiveLock'`,
          )) === '1',
      );
      const workspace = await lambdaWorkspace({ ...pgTarget, database: locked });
      const child = spawn(process.execPath, [CLI, 'run', '--config', workspace.configFile, '--target', 'main'], {
        cwd: workspace.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      const dumping = await waitFor('pg_dump to start', async () =>
        (await processesMentioning(locked)).find((p) => /pg_dump/.test(p.args)),
      );
      // The write is under way: its partial file is open in the destination.
      await waitFor('the partial file', async () => (await filesIn(workspace, 'backups')).length > 0 || undefined);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(stdout).toContain('Interrupted by SIGINT during StreamDump.');
      expect(stdout).toContain(`stopped pg_dump (pid ${dumping.pid})`);
      expect(stdout).toContain('the upload had started: closing what it left on the destinations');
      expect(
        await processesMentioning(locked).then((ps) => ps.filter((p) => /pg_dump|pg_restore/.test(p.args))),
      ).toEqual([]);
      expect(await filesIn(workspace, 'backups')).toEqual([]);
      expect(await filesIn(workspace, 'copies')).toEqual([]);
    } finally {
      locker.kill('SIGKILL');
      await psql('postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${locked}'`);
    }
  }, 60_000);
});
