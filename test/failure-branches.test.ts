/**
 * The failure branch of the real state machine: each way a run can fail must end in a failure
 * mail naming the target and the error, an empty staging folder, no published backup, and a
 * failed execution.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { truncatingTool } from './helpers/fake-tools.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, workspacePool, type RunRecord, type Workspace } from './helpers/workspace.ts';

const pgDatabase = uniqueName('sv_pg_fail');
const mariaDatabase = uniqueName('sv_maria_fail');
const pgTarget = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgDatabase };
const workspaces = workspacePool();
let toolsDir: string | undefined;

beforeAll(async () => {
  await createDatabase(pgDatabase);
  // Enough rows that a dump cut at a few kilobytes is visibly cut.
  await psql(pgDatabase, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g`);
  await createMariaDatabase(mariaDatabase);
  await mariadb(
    mariaDatabase,
    `CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_20000`,
  );
});

afterAll(async () => {
  await dropDatabase(pgDatabase);
  await dropMariaDatabase(mariaDatabase);
  await workspaces.removeAll();
});

afterEach(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  if (toolsDir) await rm(toolsDir, { recursive: true, force: true });
  toolsDir = undefined;
});

const workspaceWith = workspaces.withConfig;

async function useFakeTools(setup: (dir: string) => Promise<void>): Promise<void> {
  toolsDir = await mkdtemp(path.join(tmpdir(), 'stepvault-tools-'));
  await setup(toolsDir);
  process.env.STEPVAULT_TOOLS_DIR = toolsDir;
}

async function publishedFiles(workspace: Workspace): Promise<string[]> {
  const entries = await readdir(path.join(workspace.dir, 'backups'), { recursive: true }).catch(() => [] as string[]);
  return entries.filter((e) => /\.(dump|gz|zst|json)$/.test(e));
}

/** What every failed run must show, whatever failed. */
async function expectFailureBranch(
  workspace: Workspace,
  record: RunRecord,
  state: string,
  error: string,
): Promise<string> {
  expect(record.status).toBe('FAILED');
  expect(record.failedState).toBe(state);
  expect(record.error).toBe(error);
  const entered = record.events.filter((e) => e.type === 'state-entered').map((e) => e.state);
  expect(entered.slice(-4)).toEqual([`${state}Failed`, 'NotifyFailure', 'CleanupAfterFailure', 'BackupFailed']);
  expect(await workspace.stagingEntries()).toEqual([]);
  expect(await publishedFiles(workspace)).toEqual([]);
  const mails = await workspace.outbox();
  expect(mails).toHaveLength(1);
  const mail = mails[0]!;
  expect(mail.headers['x-stepvault-outcome']).toBe('failure');
  expect(mail.headers.subject).toContain(`backup FAILED in ${state} (${error})`);
  expect(mail.body).toContain(`Failed in: ${state}\n`);
  expect(mail.body).toContain(`Error:     ${error}\n`);
  return mail.body;
}

describe('failure branches', () => {
  it('an unreachable database is retried, then reported', async () => {
    const workspace = await workspaceWith(configFor({ ...pgTarget, port: 1 }));
    const record = await workspace.run('main');
    const body = await expectFailureBranch(workspace, record, 'Dump', 'ConnectionError');
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'Dump')).toHaveLength(3);
    expect(body).toContain('Target:    main\n');
    expect(body).toMatch(
      /cannot reach PostgreSQL for target main \(127\.0\.0\.1:1\/sv_pg_fail_\w+\): .*Connection refused/,
    );
  });

  it('a pg_dump that dies halfway publishes nothing', async () => {
    await useFakeTools((dir) => truncatingTool(dir, 'pg_dump', 4096, 1));
    const workspace = await workspaceWith(configFor(pgTarget));
    const record = await workspace.run('main');
    await expectFailureBranch(workspace, record, 'Dump', 'DumpError');
  });

  it('a pg_dump that exits 0 with a truncated archive is caught by reading the archive', async () => {
    await useFakeTools((dir) => truncatingTool(dir, 'pg_dump', 8192, 0));
    const workspace = await workspaceWith(configFor(pgTarget));
    const record = await workspace.run('main');
    const body = await expectFailureBranch(workspace, record, 'Dump', 'DumpError');
    expect(body).toContain('is incomplete or unreadable');
  });

  it('a mariadb-dump that exits 0 without its completion line is caught', async () => {
    await useFakeTools(async (dir) => {
      await truncatingTool(dir, 'mariadb-dump', 8192, 0);
      await truncatingTool(dir, 'mysqldump', 8192, 0);
    });
    const workspace = await workspaceWith(
      configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database: mariaDatabase }),
    );
    const record = await workspace.run('main');
    const body = await expectFailureBranch(workspace, record, 'Dump', 'DumpError');
    expect(body).toContain('does not end with "-- Dump completed"');
  });

  it('a destination that cannot be written fails Upload and leaves no manifest', async () => {
    const workspace = await workspaceWith(
      configFor(pgTarget, { destinations: { local: { type: 'filesystem', path: './blocked/backups' } } }),
    );
    // A file where the destination folder should be: no retry will make that writable.
    await writeFile(path.join(workspace.dir, 'blocked'), 'not a folder');
    const record = await workspace.run('main');
    const body = await expectFailureBranch(workspace, record, 'Upload', 'ConfigError');
    expect(body).toContain('destination local: cannot write');
    expect(body).toContain('check destinations.local.path');
  });

  it('an unknown target fails Plan and still mails the default notifiers', async () => {
    const workspace = await workspaceWith(configFor(pgTarget));
    const record = await workspace.run('nosuch');
    const body = await expectFailureBranch(workspace, record, 'Plan', 'ConfigError');
    expect(body).toContain('unknown target "nosuch" in stepvault.config.yml; known targets: main');
    expect(record.events.some((e) => e.type === 'state-entered' && e.state === 'Dump')).toBe(false);
  });

  it('an undefined env: secret fails Plan before anything is dumped', async () => {
    delete process.env.STEPVAULT_TEST_UNSET_PASSWORD;
    const workspace = await workspaceWith(configFor({ ...pgTarget, password: 'env:STEPVAULT_TEST_UNSET_PASSWORD' }));
    const record = await workspace.run('main');
    const body = await expectFailureBranch(workspace, record, 'Plan', 'ConfigError');
    expect(body).toContain('targets.main.password: environment variable STEPVAULT_TEST_UNSET_PASSWORD is not set');
    expect(record.events.some((e) => e.type === 'state-entered' && e.state === 'Dump')).toBe(false);
  });
});
