/**
 * The fargate runner on this machine: an ECS task is the task entrypoint as a child process,
 * started with the ContainerOverrides' environment and the run's config, waited for as
 * `runTask.sync` waits, its failure named as the state machine will match it, and stopped as ECS
 * stops a task (SIGTERM, which the task answers by cleaning up) when the run is interrupted.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG_YAML } from '../src/config/embedded.ts';
import { loadConfig, parseConfig } from '../src/config/load.ts';
import type { PlanResult } from '../src/contracts.ts';
import { runLocalTask, type RunTaskParameters } from '../src/local/ecs-task.ts';
import { runWorkflow } from '../src/local/runner.ts';
import { readableCause } from '../src/text/cause.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { plan } from '../src/steps/plan.ts';
import { TASK_CONTAINER_NAME } from '../src/task/contract.ts';
import { publishedBackups } from './helpers/faults.ts';
import { reserveLateServer } from './helpers/late-server.ts';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, loadRichPostgres, PG, psql, uniqueName } from './helpers/postgres.ts';
import {
  downloadObject,
  entered,
  filesIn,
  mariadbTarget,
  postgresTarget,
  retries,
  roundTrips,
  runnerWorkspace,
} from './helpers/runner-suite.ts';
import { s3Destination, type S3TestServer, startS3Server } from './helpers/s3-server.ts';
import { configFor, type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';

const pool = workspacePool();
const restore = roundTrips();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await restore.dropAll();
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
  const workspace = await pool.withConfig(configFor(postgresTarget(database)));
  return { workspace, database };
}

describe('an ECS task run locally', () => {
  it('runs the step the overrides name with the run’s config and returns a STOPPED task with exit code 0', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const logs: string[] = [];
    const task = await runLocalTask(runTask('streamDump', plan), {
      config: loadConfig(workspace.configFile),
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

  it('fails as Step Functions fails a stopped ECS task: States.TaskFailed, the task’s description as the cause, the exit code naming the error', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const failed = runLocalTask(runTask('streamDump', { ...plan, target: 'nope' }), {
      config: loadConfig(workspace.configFile),
    });
    const error = (await failed.catch((e: Error) => e)) as Error;
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    expect(JSON.parse(error.message)).toEqual({
      TaskArn: expect.stringMatching(/^arn:aws:ecs:us-east-1:000000000000:task\/stepvault-local\/[0-9a-f]{32}$/),
      ClusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/test',
      TaskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/test:1',
      LastStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      Containers: [
        {
          Name: 'stepvault',
          ExitCode: 10,
          LastStatus: 'STOPPED',
          // The local run's one addition: the task's last stderr line, as it has no log stream to point to.
          Reason: expect.stringMatching(
            /^ConfigError: unknown target "nope" in stepvault\.config\.yml; known targets: main/,
          ),
        },
      ],
    });
    expect(readableCause(error.message)).toMatch(
      /exited with code 10 \(ConfigError\); ConfigError: unknown target "nope"/,
    );
  });

  it('fails as States.TaskFailed, saying so, when the task is killed', async () => {
    const { workspace } = await databaseWorkspace();
    const plan = await planOf(workspace.configFile);
    const failed = runLocalTask(runTask('streamDump', plan), {
      config: loadConfig(workspace.configFile),
      onStart: ({ pid }) => process.kill(pid, 'SIGKILL'),
    });
    const error = await failed.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    expect(JSON.parse((error as Error).message).Containers).toEqual([
      { Name: 'stepvault', ExitCode: 137, LastStatus: 'STOPPED' },
    ]);
    expect(readableCause((error as Error).message)).toMatch(
      /^the stepvault container of task arn:aws:ecs:us-east-1:000000000000:task\/stepvault-local\/[0-9a-f]{32} exited with code 137 \(killed \(SIGKILL/,
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
      config: loadConfig(workspace.configFile),
      signal: controller.signal,
    });
    await waitFor(async () => (await lockWaiters(database)) === '1');
    controller.abort();
    const error = await dumped.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    const [container] = JSON.parse((error as Error).message).Containers;
    expect(container.ExitCode).toBe(143);
    expect(container.Reason).toMatch(
      /^the task was stopped \(SIGTERM\) during streamDump: stopped pg_dump \(pid \d+\)/,
    );
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

  const pgTarget = () => postgresTarget(pgSource);
  const mariaTarget = () => mariadbTarget(mariaSource);
  const toFolder = { type: 'filesystem', path: './backups', prefix: 'db' };
  const toBucket = (prefix: string) => s3Destination(s3, 'backups', { prefix });

  /** A fargate config into `first`, then a folder; nothing can be staged. */
  function fargateWorkspace(target: Record<string, unknown>, first: Record<string, unknown>) {
    return runnerWorkspace(pool, 'fargate', target, { first, copy: { type: 'filesystem', path: './copies' } });
  }

  async function expectSuccess(workspace: Workspace, record: RunRecord, retried: string[] = []): Promise<void> {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(entered(record)).toEqual([
      'IsDoctor',
      'Plan',
      'ChooseRunner',
      'FargateDump',
      ...retried,
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
    const workspace = await fargateWorkspace(pgTarget(), toFolder);
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const stored = storedBackup(record, 0);
    expect(stored).toMatchObject({ destination: 'first', key: expect.stringMatching(/^db\/main\//) });
    await restore.postgres(path.join(workspace.dir, 'backups', stored.key), pgSource);
  });

  it('PostgreSQL into S3: the task streams the dump into the bucket, the object restores identical', async () => {
    const workspace = await fargateWorkspace(pgTarget(), toBucket('fargate-pg'));
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const stored = storedBackup(record, 0);
    expect(stored).toMatchObject({ destination: 'first', key: expect.stringMatching(/^fargate-pg\/main\//) });
    expect(await s3.openMultipartUploads('backups')).toEqual([]);
    const file = path.join(workspace.dir, 'downloaded.dump');
    await downloadObject(s3, 'backups', stored.key, file);
    await restore.postgres(file, pgSource);
  });

  it('MariaDB into a folder: the task streams the dump there, it restores identical', async () => {
    const workspace = await fargateWorkspace(mariaTarget(), toFolder);
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    const stored = storedBackup(record, 0);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.sql\.zst$/);
    await restore.mariadb(path.join(workspace.dir, 'backups', stored.key), mariaSource);
  });

  it('MariaDB into S3: the task streams the dump into the bucket, the copy restores identical', async () => {
    const workspace = await fargateWorkspace(mariaTarget(), toBucket('fargate'));
    const record = await workspace.run('main');
    await expectSuccess(workspace, record);
    expect(storedBackup(record, 0)).toMatchObject({
      destination: 'first',
      location: expect.stringMatching(/^s3:\/\/backups\/fargate\/main\//),
    });
    await restore.mariadb(path.join(workspace.dir, 'copies', storedBackup(record, 1).key), mariaSource);
  });

  it('a config that is no file (the embedded sample, asked here to run on fargate) reaches the task as its text', async () => {
    const workspace = await pool.withConfig('');
    const text = EMBEDDED_CONFIG_YAML.replace('port: 5432', `port: ${PG.port}`)
      .replace('database: stepvault_sample', `database: ${pgSource}`)
      .replace('    user: postgres\n', '    user: postgres\n    runner: fargate\n');
    const config = parseConfig(text, 'embedded', workspace.dir);
    const outcome = await runWorkflow({
      request: { target: 'sample' },
      runtime: createRuntime(config, { logger: () => createJsonLogger({ write: () => undefined }) }),
      retryDelayMs: 10,
    });
    expect(outcome.status, outcome.cause).toBe('SUCCEEDED');
    expect(outcome.output?.plan).toMatchObject({ runner: 'fargate', runnerReason: 'targets.sample.runner is fargate' });
    const { backups } = await publishedBackups(path.join(workspace.dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(backups[0]!.sha256).toBe(outcome.output?.dump?.sha256);
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

  /** The states between two tasks: the stopped one read, counted, found retryable, and the n-th wait. */
  const retriedAfter = (n: number) => [
    'IsFargateTaskDescribed',
    n === 1 ? 'CountFargateTaskStopped' : 'CountFargateTaskStoppedAgain',
    'IsFargateTaskRetryable',
    'WhenToRetryFargateDump',
    `WaitToRetryFargateDump${n}`,
    'FargateDump',
  ];

  it('database down for the first task and up for the next: the task that exited 11 (ConnectionError) is started again, the backup succeeds and restores identical', async () => {
    const late = await reserveLateServer(PG);
    cleanups.push(() => late.close());
    const workspace = await fargateWorkspace({ ...pgTarget(), port: late.port }, toFolder);
    const tasks: number[] = [];
    const record = await workspace.run('main', {
      onTask: ({ pid }) => {
        tasks.push(pid);
        // The server comes back between the two tasks: the second one's process is only starting.
        if (tasks.length === 2) void late.up();
      },
    });
    await expectSuccess(workspace, record, retriedAfter(1));
    expect(tasks).toHaveLength(2);
    expect(late.forwarded()).toBeGreaterThan(0);
    // The first task's stop stays on record; the run has no failure.
    expect(record.state.failure).toBeUndefined();
    expect(record.state.fargateRetry).toMatchObject({ stopped: 1, task: { Containers: [{ ExitCode: 11 }] } });
    expect(record.state.fargateError?.Cause).toMatch(/"ExitCode":11/);
    await restore.postgres(path.join(workspace.dir, 'backups', storedBackup(record, 0).key), pgSource);
  });

  it('database down for good: the task exits 11 (ConnectionError) four times, 15, 30 and 60 s apart on AWS, then FargateDumpFailed and a truthful mail', async () => {
    const workspace = await fargateWorkspace({ ...pgTarget(), port: 1 }, toFolder);
    const tasks: number[] = [];
    const record = await workspace.run('main', { onTask: ({ pid }) => tasks.push(pid) });
    await expectFailed(
      workspace,
      record,
      'States.TaskFailed',
      /exited with code 11 \(ConnectionError\); ConnectionError: cannot reach PostgreSQL for target main \(127\.0\.0\.1:1\//,
    );
    // runTask.sync reports only that the task stopped: the states after FargateDump start it again, RunTask's own
    // Retry does not apply.
    expect(tasks).toHaveLength(4);
    expect(entered(record).slice(0, 1 + 3 + 3 * 6 + 4)).toEqual([
      'IsDoctor',
      'Plan',
      'ChooseRunner',
      'FargateDump',
      ...retriedAfter(1),
      ...retriedAfter(2),
      ...retriedAfter(3),
      'IsFargateTaskDescribed',
      'CountFargateTaskStoppedAgain',
      'IsFargateTaskRetryable',
      'WhenToRetryFargateDump',
    ]);
    expect(retries(record, 'FargateDump')).toBe(0);
  });

  it('destination down: the task exits 12 (StorageError), is started again three times, then FargateDumpFailed, nothing published', async () => {
    const workspace = await fargateWorkspace(pgTarget(), {
      ...s3Destination(s3, 'backups', { prefix: 'down' }),
      endpoint: 'http://127.0.0.1:9',
    });
    const tasks: number[] = [];
    const record = await workspace.run('main', { onTask: ({ pid }) => tasks.push(pid) });
    await expectFailed(
      workspace,
      record,
      'States.TaskFailed',
      /exited with code 12 \(StorageError\); StorageError: .*127\.0\.0\.1:9/,
    );
    expect(tasks).toHaveLength(4);
    expect(retries(record, 'FargateDump')).toBe(0);
  });

  it('the task killed mid-dump: States.TaskFailed, not retried, FargateDumpFailed, nothing published', async () => {
    const workspace = await fargateWorkspace(pgTarget(), toFolder);
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
      /the stepvault container of task \S+ exited with code 137 \(killed \(SIGKILL/,
    );
    expect(record.events.filter((e) => e.type === 'state-retried')).toEqual([]);
    // Killed (137) names no error that may pass: the task is not started again.
    expect(entered(record).filter((state) => state === 'FargateDump')).toHaveLength(1);
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
