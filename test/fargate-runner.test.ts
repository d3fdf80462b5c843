/**
 * The fargate runner on this machine: an ECS task is the task entrypoint as a child process,
 * started with the ContainerOverrides' environment and the run's config, waited for as
 * `runTask.sync` waits, its failure named as the state machine will match it, and stopped as ECS
 * stops a task (SIGTERM, which the task answers by cleaning up) when the run is interrupted.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PlanResult } from '../src/contracts.ts';
import { runLocalTask, type RunTaskParameters } from '../src/local/ecs-task.ts';
import { TASK_CONTAINER_NAME } from '../src/task/contract.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, workspacePool } from './helpers/workspace.ts';

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
    const logs: string[] = [];
    const task = await runLocalTask(runTask('plan', { request: { target: 'main' }, execution: execution() }), {
      configFile: workspace.configFile,
      onLog: (line) => logs.push(line),
    });
    expect(task).toMatchObject({
      LastStatus: 'STOPPED',
      ClusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/test',
      Containers: [{ Name: 'stepvault', ExitCode: 0 }],
    });
    const finished = logs.map((l) => JSON.parse(l)).find((l) => l.message === 'task finished');
    expect(finished.result).toMatchObject({ target: 'main', engine: 'postgres' });
  });

  it('fails with the error the task named on its last stderr line, Lambda’s JSON as the cause', async () => {
    const { workspace } = await databaseWorkspace();
    const failed = runLocalTask(runTask('plan', { request: { target: 'nope' }, execution: execution() }), {
      configFile: workspace.configFile,
    });
    await expect(failed).rejects.toMatchObject({ name: 'ConfigError' });
    const cause = JSON.parse(((await failed.catch((e: Error) => e)) as Error).message);
    expect(cause).toEqual({
      errorType: 'ConfigError',
      errorMessage: expect.stringMatching(/^unknown target "nope" in stepvault\.config\.yml; known targets: main/),
    });
  });

  it('fails as States.TaskFailed, saying so, when the task is killed', async () => {
    const { workspace } = await databaseWorkspace();
    const failed = runLocalTask(runTask('plan', { request: { target: 'main' }, execution: execution() }), {
      configFile: workspace.configFile,
      onStart: ({ pid }) => process.kill(pid, 'SIGKILL'),
    });
    const error = await failed.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    expect(JSON.parse((error as Error).message).errorMessage).toMatch(
      /^the stepvault container of task arn:aws:ecs:us-east-1:000000000000:task\/stepvault-local\/[0-9a-f]{32} was killed by SIGKILL \(exit code 137\) before it finished$/,
    );
  });

  it('is stopped with SIGTERM when the run is interrupted: its pg_dump stopped, its staging folder removed', async () => {
    const { workspace, database } = await databaseWorkspace();
    const planned = await runLocalTask(runTask('plan', { request: { target: 'main' }, execution: execution() }), {
      configFile: workspace.configFile,
      onLog: () => undefined,
    });
    expect(planned.Containers[0]!.ExitCode).toBe(0);
    // A transaction that holds the table makes pg_dump wait for its lock: the dump is under way.
    const holder = spawn('psql', [
      ...['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database, '-Xq'],
      ...['-c', 'BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);'],
    ]);
    cleanups.push(async () => holder.kill());
    await waitFor(
      async () =>
        (await psql(
          database,
          `SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 't'::regclass`,
        )) === '1',
    );
    const plan = await planOf(workspace.configFile);
    const controller = new AbortController();
    const dumped = runLocalTask(runTask('dump', plan), {
      configFile: workspace.configFile,
      signal: controller.signal,
    });
    await waitFor(async () => (await lockWaiters(database)) === '1');
    controller.abort();
    const error = await dumped.catch((e: Error) => e);
    expect(error).toMatchObject({ name: 'States.TaskFailed' });
    const said = JSON.parse((error as Error).message).errorMessage as string;
    expect(said).toMatch(
      /^the task was stopped \(SIGTERM\) during dump: stopped pg_dump \(pid \d+\); removed the run's staging folder /,
    );
    expect(await readdir(path.dirname(plan.stagingDir)).catch(() => [])).not.toContain(plan.runId);
    await waitFor(async () => (await lockWaiters(database)) === '0');
  });
});

/** Sessions of the database waiting for a lock: the dump behind the held table. */
function lockWaiters(database: string): Promise<string> {
  return psql(
    database,
    `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
}

/** Plans a run through the task and returns its plan. */
async function planOf(configFile: string): Promise<PlanResult> {
  const lines: string[] = [];
  await runLocalTask(runTask('plan', { request: { target: 'main' }, execution: execution() }), {
    configFile,
    onLog: (line) => lines.push(line),
  });
  return lines.map((l) => JSON.parse(l)).find((l) => l.message === 'task finished').result;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
