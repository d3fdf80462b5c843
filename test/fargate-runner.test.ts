/**
 * The fargate runner on this machine: an ECS task is the task entrypoint as a child process,
 * started with the ContainerOverrides' environment and the run's config, waited for as
 * `runTask.sync` waits, its failure named as the state machine will match it, and stopped as ECS
 * stops a task (SIGTERM, which the task answers by cleaning up) when the run is interrupted.
 */
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { PlanResult } from '../src/contracts.ts';
import { runLocalTask, type RunTaskParameters } from '../src/local/ecs-task.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { plan } from '../src/steps/plan.ts';
import { TASK_CONTAINER_NAME } from '../src/task/contract.ts';
import { publishedBackups } from './helpers/faults.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  loadRichMariadb,
  MARIADB,
  mariaInventory,
  mariaTableDigests,
  restoreGzipDump,
} from './helpers/mariadb.ts';
import {
  createDatabase,
  dropDatabase,
  loadRichPostgres,
  objectInventory,
  PG,
  pgRestore,
  psql,
  tableDigests,
  uniqueName,
} from './helpers/postgres.ts';
import { s3Destination, type S3TestServer, startS3Server } from './helpers/s3-server.ts';
import { configFor, type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';

const pool = workspacePool();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await pool.removeAll();
});

function runTask(step: string, input: unknown): RunTaskParameters {
  return {
    Cluster: 'arn:aws:ecs:us-east-1:000000000000:cluster/test',
    TaskDefinition: 'arn:aws:ecs:us-east-1:000000000000:task-definition/test:1',
    Overrides: {
      ContainerOverrides: [
        {
          Name: TASK_CONTAINER_NAME,
          Environment: [
            { Name: 'STEPVAULT_STEP', Value: step },
            { Name: 'STEPVAULT_STEP_INPUT', Value: JSON.stringify(input) },
          ],
        },
      ],
    },
  };
}

const execution = () => ({
  id: `arn:local:execution:${uniqueName('x')}`,
  name: 'x',
  startTime: new Date().toISOString(),
});

async function databaseWorkspace() {
  const database = uniqueName('sv_fargate');
  cleanups.push(() => dropDatabase(database));
  await createDatabase(database);
  await psql(database, 'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, $$one$$)');
  const workspace = await pool.withConfig(
    configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database }),
  );
  return { workspace, database };
}

describe('an ECS task run locally', () => {
  it('runs the step the overrides name with the run’s config and returns a STOPPED task with exit code 0', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const logs: string[] = [];
    const task = await runLocalTask(runTask('streamDump', plan), {
      configFile: workspace.configFile,
      onLog: (line) => logs.push(line),
    });
    expect(task).toMatchObject({
      LastStatus: 'STOPPED',
      ClusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/test',
      Containers: [{ Name: 'stepvault', ExitCode: 0 }],
    });
    const finished = logs.map((l) => JSON.parse(l)).find((l) => l.message === 'task finished');
    expect(finished.result).toMatchObject({ kind: 'streamed', destination: 'local', key: `db/${plan.objectKey}` });
    const { backups } = await publishedBackups(path.join(workspace.dir, 'backups'));
    expect(backups).toHaveLength(1);
  });

  it('fails with the error the task named on its last stderr line, Lambda’s JSON as the cause', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const failed = runLocalTask(runTask('streamDump', { ...plan, target: 'nope' }), {
      configFile: workspace.configFile,
    });
    const error = (await failed.catch((e: Error) => e)) as Error;
    expect(error).toMatchObject({ name: 'ConfigError' });
    expect(JSON.parse(error.message)).toEqual({
      errorType: 'ConfigError',
      errorMessage: expect.stringMatching(/^unknown target "nope" in stepvault\.config\.yml; known targets: main/),
    });
  });

  it('fails as States.TaskFailed, saying so, when the task is killed', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const failed = runLocalTask(runTask('streamDump', plan), {
      configFile: workspace.configFile,
      onStart: ({ pid }) => process.kill(pid, 'SIGKILL'),
    });
    const error = await failed.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    expect(JSON.parse((error as Error).message).errorMessage).toMatch(
      /^the stepvault container of task arn:aws:ecs:us-east-1:000000000000:task\/stepvault-local\/[0-9a-f]{32} was killed by SIGKILL \(exit code 137\) before it finished$/,
    );
  });

  it('is stopped with SIGTERM when the run is interrupted: its pg_dump stopped, nothing published', async () => {
    const { workspace, database } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    // A transaction that holds the table makes pg_dump wait for its lock: the dump is under way.
    const holder = holdTable(database, 't');
    cleanups.push(async () => holder.kill());
    await waitFor(async () => Number(await heldLocks(database)) > 0);
    const controller = new AbortController();
    const dumped = runLocalTask(runTask('streamDump', plan), {
      configFile: workspace.configFile,
      signal: controller.signal,
    });
    await waitFor(async () => (await lockWaiters(database)) === '1');
    controller.abort();
    const error = await dumped.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    const said = JSON.parse((error as Error).message).errorMessage as string;
    expect(said).toMatch(/^the task was stopped \(SIGTERM\) during streamDump: stopped pg_dump \(pid \d+\)/);
    await waitFor(async () => (await lockWaiters(database)) === '0');
    expect(await filesIn(workspace, 'backups')).toEqual([]);
  });
});

/** Sessions of the database waiting for a lock: the dump behind the held table. */
function lockWaiters(database: string): Promise<string> {
  return psql(
    database,
    `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
}

/** Plans a run in this process, with the config the task reads: Plan runs on Lambda, not in the task. */
async function planOf(configFile: string): Promise<PlanResult> {
  const runtime = createRuntime(loadConfig(configFile), { logger: () => createJsonLogger({ write: () => undefined }) });
  return plan({ request: { target: 'main' }, execution: execution() }, runtime);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('runner: fargate through the real state machine', () => {
  const pgSource = uniqueName('sv_fargate_pg');
  const mariaSource = uniqueName('sv_fargate_maria');
  let s3: S3TestServer;

  beforeAll(async () => {
    await createDatabase(pgSource);
    await loadRichPostgres(pgSource);
    await createMariaDatabase(mariaSource);
    await loadRichMariadb(mariaSource);
    s3 = await startS3Server(['backups']);
    cleanups.push(
      () => dropDatabase(pgSource),
      () => dropMariaDatabase(mariaSource),
      () => s3.stop(),
    );
  });

  const pgTarget = () => ({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgSource });
  const mariaTarget = () => ({
    engine: 'mariadb',
    host: MARIADB.host,
    port: MARIADB.port,
    user: MARIADB.user,
    database: mariaSource,
  });

  /** A fargate config whose staging path is a file: a run that stages anything fails. */
  async function fargateWorkspace(target: Record<string, unknown>, first: Record<string, unknown>) {
    const workspace = await pool.withConfig(
      configFor(
        { ...target, runner: 'fargate' },
        {
          defaults: { staging: './not-a-folder/staging', destinations: ['first', 'copy'], notify: ['desk'] },
          destinations: { first, copy: { type: 'filesystem', path: './copies' } },
        },
      ),
    );
    await writeFile(path.join(workspace.dir, 'not-a-folder'), 'staging here would fail');
    return workspace;
  }

  function entered(record: RunRecord): string[] {
    return record.events.filter((e) => e.type === 'state-entered' && e.index === undefined).map((e) => e.state);
  }

  async function expectSuccess(workspace: Workspace, record: RunRecord): Promise<void> {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(entered(record)).toEqual([
      'Plan',
      'ChooseRunner',
      'FargateDump',
      'CollectDump',
      'Upload',
      'Verify',
      'Prune',
      'NotifySuccess',
      'Cleanup',
      'Done',
    ]);
    expect(record.state.plan).toMatchObject({ runner: 'fargate' });
    expect(record.state.dump).toMatchObject({ kind: 'streamed', destination: 'first' });
    const { backups, orphans } = await publishedBackups(path.join(workspace.dir, 'copies'));
    expect(orphans).toEqual([]);
    expect(backups).toHaveLength(1);
    expect(backups[0]!.sha256).toBe(record.state.dump!.sha256);
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.body).toMatch(/Runner: +fargate \(targets\.main\.runner is fargate\)\n/);
  }

  it('PostgreSQL into a folder: the task streams the dump there, CollectDump returns it, it restores identical', async () => {
    const workspace = await fargateWorkspace(pgTarget(), { type: 'filesystem', path: './backups', prefix: 'db' });
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const stored = storedBackup(record, 0);
    expect(stored).toMatchObject({ destination: 'first', key: expect.stringMatching(/^db\/main\//) });
    const database = uniqueName('sv_fargate_pg_restored');
    cleanups.push(() => dropDatabase(database));
    await createDatabase(database);
    await pgRestore(path.join(workspace.dir, 'backups', stored.key), database);
    expect(await tableDigests(database)).toEqual(await tableDigests(pgSource));
    expect(await objectInventory(database)).toEqual(await objectInventory(pgSource));
  });

  it('MariaDB into S3: the task streams the dump into the bucket, the copy restores identical', async () => {
    const workspace = await fargateWorkspace(mariaTarget(), s3Destination(s3, 'backups', { prefix: 'fargate' }));
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    expect(storedBackup(record, 0)).toMatchObject({
      destination: 'first',
      location: expect.stringMatching(/^s3:\/\/backups\/fargate\/main\//),
    });
    const copy = storedBackup(record, 1);
    const database = uniqueName('sv_fargate_maria_restored');
    cleanups.push(() => dropMariaDatabase(database));
    await createMariaDatabase(database);
    await restoreGzipDump(path.join(workspace.dir, 'copies', copy.key), database);
    expect(await mariaTableDigests(database)).toEqual(await mariaTableDigests(mariaSource));
    expect(await mariaInventory(database)).toEqual(await mariaInventory(mariaSource));
  });

  async function expectFailed(workspace: Workspace, record: RunRecord, error: string, cause: RegExp) {
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('FargateDump');
    expect(record.error).toBe(error);
    expect(entered(record).slice(-4)).toEqual([
      'FargateDumpFailed',
      'NotifyFailure',
      'CleanupAfterFailure',
      'BackupFailed',
    ]);
    expect(await filesIn(workspace, 'backups')).toEqual([]);
    expect(await filesIn(workspace, 'copies')).toEqual([]);
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.headers.subject).toContain(`backup FAILED in FargateDump (${error})`);
    expect(mails[0]!.body).toMatch(/Runner: +fargate \(targets\.main\.runner is fargate\)\n/);
    expect(mails[0]!.body).toMatch(cause);
  }

  it('database down: each task names the ConnectionError, retried, then FargateDumpFailed and a truthful mail', async () => {
    const workspace = await fargateWorkspace(
      { ...pgTarget(), port: 1 },
      { type: 'filesystem', path: './backups', prefix: 'db' },
    );
    const tasks: number[] = [];
    const record = await workspace.run('main', { onTask: ({ pid }) => tasks.push(pid) });
    await expectFailed(
      workspace,
      record,
      'ConnectionError',
      /cannot reach PostgreSQL for target main \(127\.0\.0\.1:1\//,
    );
    expect(tasks).toHaveLength(4);
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'FargateDump')).toHaveLength(3);
  });

  it('destination down: the task’s StorageError is retried, then FargateDumpFailed, nothing published', async () => {
    const workspace = await fargateWorkspace(pgTarget(), {
      ...s3Destination(s3, 'backups', { prefix: 'down' }),
      endpoint: 'http://127.0.0.1:9',
    });
    const record = await workspace.run('main');
    await expectFailed(workspace, record, 'StorageError', /127\.0\.0\.1:9/);
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'FargateDump')).toHaveLength(3);
  });

  it('the task killed mid-dump: States.TaskFailed, not retried, FargateDumpFailed, nothing published', async () => {
    const workspace = await fargateWorkspace(pgTarget(), { type: 'filesystem', path: './backups', prefix: 'db' });
    const holder = holdTable(pgSource, 'sales.orders');
    cleanups.push(async () => holder.kill());
    await waitFor(async () => Number(await heldLocks(pgSource)) > 0);
    const record = await workspace.run('main', {
      onTask: ({ pid }) => {
        // Killed once its pg_dump waits for the held table: the dump is under way.
        void waitFor(async () => (await lockWaiters(pgSource)) === '1').then(() => process.kill(-pid, 'SIGKILL'));
      },
    });
    holder.kill();
    await expectFailed(
      workspace,
      record,
      'States.TaskFailed',
      /the stepvault container of task \S+ was killed by SIGKILL \(exit code 137\) before it finished/,
    );
    expect(record.events.filter((e) => e.type === 'state-retried')).toEqual([]);
  });
});

/** A session that holds a table in ACCESS EXCLUSIVE mode for a minute: a pg_dump of it waits. */
function holdTable(database: string, table: string) {
  return spawn('psql', [
    ...['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database, '-Xq'],
    ...['-c', `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);`],
  ]);
}

function heldLocks(database: string): Promise<string> {
  return psql(
    database,
    `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = current_database() AND l.mode = 'AccessExclusiveLock' AND l.locktype = 'relation' AND l.granted`,
  );
}

/** Every file under a destination folder, temporary ones included. */
async function filesIn(workspace: Workspace, folder: string): Promise<string[]> {
  const entries = await readdir(path.join(workspace.dir, folder), { recursive: true, withFileTypes: true }).catch(
    () => [],
  );
  return entries.filter((e) => e.isFile()).map((e) => path.relative(workspace.dir, path.join(e.parentPath, e.name)));
}
