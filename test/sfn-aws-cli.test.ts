/**
 * Debian's AWS CLI (`aws stepfunctions --endpoint-url`) against the Step Functions API `stepvault serve` answers: a
 * scripted conversation through every call it serves and every error the API reference names for them, checking what
 * the CLI prints and how it exits (254: the service refused). The executions run the real workflow: a good target, a
 * target whose database is down, and one whose table another session holds locked, so that its Dump waits (its
 * staging folder made) for as long as the test needs it running: to be started twice, stopped, and timed out.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { startSfnServer, type SfnServer } from '../src/local/sfn-server.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { aws } from './helpers/aws-cli.ts';
import { CLI } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_awscli');
const held = uniqueName('sv_pg_awscli_held');
const REFUSED = 254;
let workspace: Workspace;
let locker: ChildProcess;
let server: SfnServer;
let shortLived: SfnServer;

interface Event {
  id: number;
  previousEventId: number;
  type: string;
  [details: string]: unknown;
}

function sfn(args: string[], on: SfnServer = server) {
  return aws(['stepfunctions', ...args, '--endpoint-url', on.url, '--region', 'eu-west-1']);
}

/** The service's refusal as the CLI prints it. */
function refusal(code: string, operation: string, message: string): string {
  return `An error occurred (${code}) when calling the ${operation} operation: ${message}`;
}

/** A direct JSON call, to wait on the server without a CLI start-up per look. */
async function call(on: SfnServer, operation: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(on.url, {
    method: 'POST',
    headers: { 'X-Amz-Target': `AWSStepFunctions.${operation}`, 'Content-Type': 'application/x-amz-json-1.0' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, unknown>;
}

async function historyOf(on: SfnServer, executionArn: string): Promise<Event[]> {
  return (await call(on, 'GetExecutionHistory', { executionArn, maxResults: 1000 })).events as Event[];
}

async function waitForState(on: SfnServer, executionArn: string, state: string): Promise<Event> {
  for (let tries = 0; tries < 600; tries++) {
    const entered = (await historyOf(on, executionArn)).find(
      (e) => (e.stateEnteredEventDetails as { name?: string } | undefined)?.name === state,
    );
    if (entered) return entered;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${executionArn} never entered ${state}`);
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let tries = 0; tries < 300 && !condition(); tries++) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(condition()).toBe(true);
}

const stagingDir = () => path.join(workspace.dir, 'staging');
const staged = () => (existsSync(stagingDir()) ? readdirSync(stagingDir()) : []);

/** A session that holds `t` of the held database locked until it is terminated: pg_dump waits for it. */
async function holdTableLock(): Promise<ChildProcess> {
  const sql = 'BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3600)';
  const child = spawn('psql', ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', held, '-Xq', '-c', sql], {
    stdio: 'ignore',
  });
  const granted = `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted`;
  for (let tries = 0; tries < 300; tries++) {
    if ((await psql(held, granted)) === '1') return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the lock on t was never granted');
}

beforeAll(async () => {
  for (const name of [database, held]) {
    await createDatabase(name);
    await psql(name, 'CREATE TABLE t AS SELECT 1 AS id');
  }
  locker = await holdTableLock();
  workspace = await createWorkspace();
  const good = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };
  await workspace.writeConfig(
    configFor(good, {
      targets: {
        main: good,
        down: { engine: 'postgres', host: PG.host, port: 1, user: PG.user, database },
        hang: { ...good, database: held },
      },
    }),
  );
  const config = loadConfig(workspace.configFile);
  const runtime = () => createRuntime(config, { logger: () => createJsonLogger({ write: () => undefined }) });
  server = await startSfnServer(runtime, { retryDelayMs: 10 });
  shortLived = await startSfnServer(runtime, { retryDelayMs: 10, executionTimeoutSeconds: 6 });
});

afterAll(async () => {
  await server?.idle();
  await shortLived?.idle();
  await server?.close();
  await shortLived?.close();
  // Ends the locking session and the pg_dumps of the stopped runs still waiting for it.
  await dropDatabase(held);
  locker?.kill();
  await dropDatabase(database);
  await workspace?.remove();
});

// Each `aws` call starts a Python interpreter: seconds apiece on a busy machine.
describe('aws stepfunctions against stepvault serve', { timeout: 600_000 }, () => {
  it('is what `stepvault serve` answers on the port it prints', async () => {
    const serve = spawn(process.execPath, [CLI, 'serve', '--config', workspace.configFile, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let said = '';
        serve.stdout.on('data', (chunk: Buffer) => {
          said += chunk.toString('utf8');
          const found = /^Step Functions API on (http:\/\/127\.0\.0\.1:\d+),/m.exec(said)?.[1];
          if (found) resolve(found);
        });
        serve.once('exit', (code) => reject(new Error(`stepvault serve exited with ${code}: ${said}`)));
      });
      const listed = await aws([
        'stepfunctions',
        'list-state-machines',
        '--endpoint-url',
        url,
        '--region',
        'eu-west-1',
      ]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.json.stateMachines).toEqual([expect.objectContaining({ stateMachineArn: server.stateMachineArn })]);
    } finally {
      serve.kill();
    }
  });

  it('lists and describes the one state machine it serves, and refuses others as StateMachineDoesNotExist', async () => {
    const machines = await sfn(['list-state-machines']);
    expect(machines.code, machines.stderr).toBe(0);
    expect(machines.json.stateMachines).toEqual([
      expect.objectContaining({
        stateMachineArn: server.stateMachineArn,
        type: 'STANDARD',
        name: 'stepvault-local-backup',
      }),
    ]);

    const described = await sfn(['describe-state-machine', '--state-machine-arn', server.stateMachineArn]);
    expect(described.code, described.stderr).toBe(0);
    expect(described.json).toMatchObject({ status: 'ACTIVE', type: 'STANDARD', name: 'stepvault-local-backup' });
    expect(JSON.parse(described.json.definition as string)).toMatchObject({ StartAt: 'IsDoctor' });

    const other = server.stateMachineArn.replace('stepvault-local-backup', 'someone-else');
    for (const [command, operation] of [
      ['describe-state-machine', 'DescribeStateMachine'],
      ['list-executions', 'ListExecutions'],
      ['start-execution', 'StartExecution'],
    ] as const) {
      const refused = await sfn([command, '--state-machine-arn', other]);
      expect(refused.code).toBe(REFUSED);
      expect(refused.stderr).toContain(
        refusal('StateMachineDoesNotExist', operation, `State Machine Does Not Exist: '${other}'`),
      );
    }
  });

  it('refuses a malformed ARN as InvalidArn, a bad name as InvalidName, and input that is not JSON, starting nothing', async () => {
    const badArn = await sfn(['start-execution', '--state-machine-arn', 'stepvault-local-backup']);
    expect(badArn.code).toBe(REFUSED);
    expect(badArn.stderr).toContain(
      refusal('InvalidArn', 'StartExecution', "Invalid Arn: 'Invalid ARN prefix: stepvault-local-backup'"),
    );
    const machineAsExecution = await sfn(['describe-execution', '--execution-arn', server.stateMachineArn]);
    expect(machineAsExecution.stderr).toContain(
      refusal(
        'InvalidArn',
        'DescribeExecution',
        "Invalid Arn: 'Resource type not valid in this context: stateMachine'",
      ),
    );

    const spaced = await sfn(['start-execution', '--state-machine-arn', server.stateMachineArn, '--name', 'my backup']);
    expect(spaced.code).toBe(REFUSED);
    expect(spaced.stderr).toContain(refusal('InvalidName', 'StartExecution', "Invalid Name: 'my backup'"));

    const notJson = await sfn([
      'start-execution',
      '--state-machine-arn',
      server.stateMachineArn,
      '--input',
      '{target: main}',
    ]);
    expect(notJson.code).toBe(REFUSED);
    expect(notJson.stderr).toMatch(
      /An error occurred \(InvalidExecutionInput\) when calling the StartExecution operation: Invalid State Machine Execution Input: '.+'/,
    );
    // A 400 is not retried, and nothing was created by it: no execution at all yet.
    const listed = await sfn(['list-executions', '--state-machine-arn', server.stateMachineArn]);
    expect(listed.json.executions).toEqual([]);

    const unknown = `${server.stateMachineArn.replace(':stateMachine:', ':execution:')}:never-started`;
    const missing = await sfn(['describe-execution', '--execution-arn', unknown]);
    expect(missing.code).toBe(REFUSED);
    expect(missing.stderr).toContain(
      refusal('ExecutionDoesNotExist', 'DescribeExecution', `Execution Does Not Exist: '${unknown}'`),
    );
  });

  it('starts idempotently while running, refuses the name with other input or once closed, and stops a run, cleaning its staging', async () => {
    const start = (name: string, target: string) =>
      sfn([
        'start-execution',
        '--state-machine-arn',
        server.stateMachineArn,
        '--name',
        name,
        '--input',
        JSON.stringify({ target }),
      ]);
    const first = await start('hang-1', 'hang');
    expect(first.code, first.stderr).toBe(0);
    const arn = first.json.executionArn as string;
    expect(arn).toBe(`${server.stateMachineArn.replace(':stateMachine:', ':execution:')}:hang-1`);

    // Its Dump waits for the lock: the run is still going.
    const entered = await waitForState(server, arn, 'Dump');
    const again = await start('hang-1', 'hang');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toEqual(first.json);
    const otherInput = await start('hang-1', 'main');
    expect(otherInput.code).toBe(REFUSED);
    expect(otherInput.stderr).toContain(
      refusal('ExecutionAlreadyExists', 'StartExecution', `Execution Already Exists: '${arn}'`),
    );
    const running = await sfn(['list-executions', '--state-machine-arn', server.stateMachineArn]);
    expect((running.json.executions as { name: string }[]).map((e) => e.name)).toEqual(['hang-1']);

    // The run's staging folder is there until its Cleanup state, which a stop never reaches.
    const plan = (
      JSON.parse((entered.stateEnteredEventDetails as { input: string }).input) as { plan: { runId: string } }
    ).plan;
    await waitFor(() => staged().includes(plan.runId));
    const stopped = await sfn(['stop-execution', '--execution-arn', arn, '--error', 'Operator', '--cause', 'not now']);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(typeof stopped.json.stopDate).toBe('string');
    const described = await sfn(['describe-execution', '--execution-arn', arn]);
    expect(described.json).toMatchObject({ status: 'ABORTED', name: 'hang-1', error: 'Operator', cause: 'not now' });
    const last = await sfn(['get-execution-history', '--execution-arn', arn, '--reverse-order', '--max-items', '1']);
    expect((last.json.events as Event[])[0]).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator', cause: 'not now' },
    });
    await server.idle();
    expect(staged()).not.toContain(plan.runId);
    // Still ABORTED once the interrupted state's work has settled; and a closed execution's name stays taken.
    expect((await sfn(['describe-execution', '--execution-arn', arn])).json.status).toBe('ABORTED');
    expect((await start('hang-1', 'hang')).stderr).toContain('ExecutionAlreadyExists');
  });

  it('runs a backup under a generated UUID name, and describes it with its input, output and state machine', async () => {
    const started = await sfn([
      'start-execution',
      '--state-machine-arn',
      server.stateMachineArn,
      '--input',
      '{"target":"main"}',
    ]);
    expect(started.code, started.stderr).toBe(0);
    const arn = started.json.executionArn as string;
    expect(arn.split(':').at(-1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await server.idle();

    const described = await sfn(['describe-execution', '--execution-arn', arn]);
    expect(described.json).toMatchObject({
      status: 'SUCCEEDED',
      input: '{"target":"main"}',
      inputDetails: { included: true },
      outputDetails: { included: true },
    });
    expect(JSON.parse(described.json.output as string)).toMatchObject({ target: 'main' });
    const machine = await sfn(['describe-state-machine-for-execution', '--execution-arn', arn]);
    expect(machine.code, machine.stderr).toBe(0);
    expect(machine.json).toMatchObject({ stateMachineArn: server.stateMachineArn, name: 'stepvault-local-backup' });
    expect(JSON.parse(machine.json.definition as string)).toMatchObject({ StartAt: 'IsDoctor' });

    // The history in AWS's event types for the ASL as written, each event linked to the one it follows.
    const history = (await sfn(['get-execution-history', '--execution-arn', arn])).json.events as Event[];
    const types = history.map((e) => e.type);
    // IsDoctor first: a backup's input goes on to Plan.
    expect(types.slice(0, 7)).toEqual([
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
    ]);
    for (const type of ['ChoiceStateEntered', 'MapStateEntered', 'MapStateStarted', 'MapIterationStarted'])
      expect(types).toContain(type);
    for (const type of ['MapIterationSucceeded', 'MapStateSucceeded', 'MapStateExited', 'SucceedStateEntered'])
      expect(types).toContain(type);
    expect(types).not.toContain('TaskScheduled');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    const ids = new Set(history.map((e) => e.id));
    expect(history.map((e) => e.id)).toEqual(history.map((_, i) => i + 1));
    for (const event of history.slice(1)) expect(ids.has(event.previousEventId)).toBe(true);

    // reverseOrder, and paging by hand with nextToken, give the same events.
    const reversed = (await sfn(['get-execution-history', '--execution-arn', arn, '--reverse-order'])).json
      .events as Event[];
    expect(reversed.map((e) => e.id)).toEqual([...ids].reverse());
    const paged: Event[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await sfn([
        'get-execution-history',
        '--execution-arn',
        arn,
        '--no-paginate',
        '--max-results',
        '25',
        ...(nextToken ? ['--next-token', nextToken] : []),
      ]);
      paged.push(...(page.json.events as Event[]));
      nextToken = page.json.nextToken as string | undefined;
      pages += 1;
    } while (nextToken);
    expect(pages).toBe(Math.ceil(history.length / 25));
    expect(paged).toEqual(history);
    const foreign = await sfn(['get-execution-history', '--execution-arn', arn, '--no-paginate', '--next-token', 'x']);
    expect(foreign.stderr).toContain(refusal('InvalidToken', 'GetExecutionHistory', "Invalid Token: 'x'"));
  });

  it('records each failed attempt of a Lambda Task as LambdaFunctionFailed, and the end as ExecutionFailed', async () => {
    const started = await sfn([
      'start-execution',
      '--state-machine-arn',
      server.stateMachineArn,
      '--name',
      'down-1',
      '--input',
      '{"target":"down"}',
    ]);
    await server.idle();
    const arn = started.json.executionArn as string;
    expect((await sfn(['describe-execution', '--execution-arn', arn])).json.status).toBe('FAILED');
    const history = (await sfn(['get-execution-history', '--execution-arn', arn])).json.events as Event[];
    const failures = history.filter((e) => e.type === 'LambdaFunctionFailed');
    expect(failures.length).toBeGreaterThan(1);
    expect(failures[0]).toMatchObject({
      lambdaFunctionFailedEventDetails: { error: 'ConnectionError', cause: expect.stringContaining('cannot reach') },
    });
    expect(history.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'ConnectionError' },
    });
  });

  it('lists executions newest first, page by page with nextToken, and by status', async () => {
    const all = await sfn(['list-executions', '--state-machine-arn', server.stateMachineArn]);
    const names = (all.json.executions as { name: string }[]).map((e) => e.name);
    expect(names).toHaveLength(3);
    expect([names[0], names[2]]).toEqual(['down-1', 'hang-1']);

    const first = await sfn([
      'list-executions',
      '--state-machine-arn',
      server.stateMachineArn,
      '--no-paginate',
      '--max-results',
      '2',
    ]);
    expect((first.json.executions as unknown[]).length).toBe(2);
    const second = await sfn([
      'list-executions',
      '--state-machine-arn',
      server.stateMachineArn,
      '--no-paginate',
      '--max-results',
      '2',
      '--next-token',
      first.json.nextToken as string,
    ]);
    expect(second.json.nextToken).toBeUndefined();
    expect(
      [...(first.json.executions as { name: string }[]), ...(second.json.executions as { name: string }[])].map(
        (e) => e.name,
      ),
    ).toEqual(names);

    const succeeded = await sfn([
      'list-executions',
      '--state-machine-arn',
      server.stateMachineArn,
      '--status-filter',
      'SUCCEEDED',
    ]);
    expect((succeeded.json.executions as { status: string }[]).map((e) => e.status)).toEqual(['SUCCEEDED']);
  });

  it("ends an execution that runs past the machine's TimeoutSeconds as TIMED_OUT, and cleans its staging", async () => {
    const started = await sfn(
      ['start-execution', '--state-machine-arn', shortLived.stateMachineArn, '--input', '{"target":"hang"}'],
      shortLived,
    );
    expect(started.code, started.stderr).toBe(0);
    await shortLived.idle();
    const arn = started.json.executionArn as string;
    const described = await sfn(['describe-execution', '--execution-arn', arn], shortLived);
    expect(described.json).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    const last = await sfn(
      ['get-execution-history', '--execution-arn', arn, '--reverse-order', '--max-items', '1'],
      shortLived,
    );
    expect((last.json.events as Event[])[0]).toMatchObject({
      type: 'ExecutionTimedOut',
      executionTimedOutEventDetails: { error: 'States.Timeout' },
    });
    expect(staged()).toEqual([]);
  });
});
