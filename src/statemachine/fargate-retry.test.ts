/**
 * The fargate runner's retry of a stopped task, run by the same interpreter `stepvault run` uses:
 * FargateDump's task fails as Step Functions fails it (States.TaskFailed, the stopped task's
 * description as the cause), and the states after it decide from the exit code and the count.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import type { RunState } from '../contracts.ts';
import { ERROR_NAMES } from '../errors.ts';
import { LOCAL_TASK_SUBSTITUTIONS } from '../local/ecs-task.ts';
import { LambdaFunctionError } from '../local/lambda-emulation.ts';
import {
  FARGATE_DUMP_STATE,
  FARGATE_RETRIED_ERRORS,
  FARGATE_RETRY_WAIT_SECONDS,
  fargateRetryWaitState,
  TASK_EXIT_CODES,
  TASK_FAILED_ERROR,
} from '../task/contract.ts';
import { readDefinition, substitute, type StateDefinition } from './definition.ts';

const definition = readDefinition();
const RETRY_STATES = [
  'IsFargateTaskDescribed',
  'CountFargateTaskStopped',
  'CountFargateTaskStoppedAgain',
  'IsFargateTaskRetryable',
  'WhenToRetryFargateDump',
  ...FARGATE_RETRY_WAIT_SECONDS.map((_, i) => fargateRetryWaitState(i + 1)),
];

/** FargateDump and its retry states from the real definition; where it goes next, an end that keeps the state. */
function fargateDumpMachine(): StateMachine {
  const States: Record<string, StateDefinition> = Object.fromEntries(
    [FARGATE_DUMP_STATE, ...RETRY_STATES, 'FargateDumpFailed'].map((name) => [name, definition.States[name]!]),
  );
  States.CollectDump = { Type: 'Succeed' };
  States.NotifyFailure = { Type: 'Succeed' };
  return new StateMachine(substitute({ StartAt: FARGATE_DUMP_STATE, States }, LOCAL_TASK_SUBSTITUTIONS) as never);
}

/** Built once: the interpreter validates the definition as it builds it. */
const machine = fargateDumpMachine();

/** A stopped task's description as the cause, with the container's exit code (none: it never ran). */
function stoppedTask(exitCode: number | undefined): LambdaFunctionError {
  return new LambdaFunctionError(
    TASK_FAILED_ERROR,
    JSON.stringify({
      TaskArn: `arn:aws:ecs:us-east-1:000000000000:task/c/${exitCode}`,
      LastStatus: 'STOPPED',
      StopCode: exitCode === undefined ? 'TaskFailedToStart' : 'EssentialContainerExited',
      Containers: [{ Name: 'stepvault', LastStatus: 'STOPPED', ...(exitCode !== undefined && { ExitCode: exitCode }) }],
    }),
  );
}

/** Runs FargateDump with tasks that end as `outcomes` say, in turn (the last one again when they run out). */
async function runTasks(outcomes: (Error | 'succeeds')[]) {
  let started = 0;
  const execution = machine.run({ target: 'main', plan: { target: 'main' } } as never, {
    overrides: {
      taskResourceLocalHandlers: {
        [FARGATE_DUMP_STATE]: async () => {
          const outcome = outcomes[Math.min(started++, outcomes.length - 1)]!;
          if (outcome === 'succeeds') return { LastStatus: 'STOPPED' };
          throw outcome;
        },
      },
      waitTimeOverrides: Object.fromEntries(
        FARGATE_RETRY_WAIT_SECONDS.map((_, i) => [fargateRetryWaitState(i + 1), 1]),
      ),
    },
  });
  const state = (await execution.result) as unknown as RunState;
  return { started, state };
}

describe('FargateDump: a task that stopped', () => {
  it.each(FARGATE_RETRIED_ERRORS)(
    'with the exit code of %s is started again, at most three more times, then fails with the last task’s error and cause',
    async (name) => {
      const code = TASK_EXIT_CODES[name];
      const { started, state } = await runTasks([stoppedTask(code)]);
      expect(started).toBe(1 + FARGATE_RETRY_WAIT_SECONDS.length);
      expect(state.failure).toEqual({
        state: 'FargateDump',
        error: TASK_FAILED_ERROR,
        cause: stoppedTask(code).message,
      });
      expect(state.fargateRetry).toMatchObject({ stopped: 4, task: { Containers: [{ ExitCode: code }] } });
    },
  );

  it('for a retryable reason, then a task that succeeds: goes on to CollectDump with no failure recorded', async () => {
    const { started, state } = await runTasks([stoppedTask(11), stoppedTask(13), 'succeeds']);
    expect(started).toBe(3);
    expect(state.failure).toBeUndefined();
    expect(state.plan).toEqual({ target: 'main' });
    // What was retried stays on record; CollectDump reads only $.plan.
    expect(state.fargateRetry).toMatchObject({ stopped: 2, task: { Containers: [{ ExitCode: 13 }] } });
  });

  it.each([
    ['ConfigError', TASK_EXIT_CODES.ConfigError],
    ['DumpError', TASK_EXIT_CODES.DumpError],
    ['ChecksumMismatchError', TASK_EXIT_CODES.ChecksumMismatchError],
    ['VersionMismatchError', TASK_EXIT_CODES.VersionMismatchError],
    ['ObjectExistsError', TASK_EXIT_CODES.ObjectExistsError],
    ['an unnamed crash', 1],
    ['a killed task', 137],
    ['a task that never started (no exit code)', undefined],
  ])('for %s is not retried: straight to FargateDumpFailed with its own cause', async (_what, code) => {
    const { started, state } = await runTasks([stoppedTask(code), 'succeeds']);
    expect(started).toBe(1);
    expect(state.failure).toEqual({ state: 'FargateDump', error: TASK_FAILED_ERROR, cause: stoppedTask(code).message });
    expect(state.fargateRetry).toMatchObject({ stopped: 1 });
  });

  it('is counted from the first stop of the run: after a retryable stop, a config error is not retried', async () => {
    const { started, state } = await runTasks([stoppedTask(11), stoppedTask(10), 'succeeds']);
    expect(started).toBe(2);
    expect(state.failure).toMatchObject({ error: TASK_FAILED_ERROR, cause: stoppedTask(10).message });
    expect(state.fargateRetry).toMatchObject({ stopped: 2 });
  });

  it('a failure whose cause describes no task (a timeout) goes to FargateDumpFailed as it came', async () => {
    const { started, state } = await runTasks([new LambdaFunctionError('States.Timeout', 'Task timed out')]);
    expect(started).toBe(1);
    expect(state.failure).toEqual({ state: 'FargateDump', error: 'States.Timeout', cause: 'Task timed out' });
    expect(state.fargateRetry).toBeUndefined();
  });
});

describe('the retry states agree with the code and with StreamDump', () => {
  it('retry the exit codes of the errors StreamDump retries, after StreamDump’s backoff as a table', () => {
    const streamRetry = (definition.States.StreamDump!.Retry as { ErrorEquals: string[]; [k: string]: unknown }[])[0]!;
    const retriedByLambda = streamRetry.ErrorEquals.filter((name) => Object.hasOwn(ERROR_NAMES, name));
    expect([...FARGATE_RETRIED_ERRORS].sort()).toEqual(retriedByLambda.sort());
    const rule = (
      definition.States.IsFargateTaskRetryable!.Choices as { And: [unknown, { Or: { NumericEquals: number }[] }] }[]
    )[0]!;
    expect(rule.And[1].Or.map((r) => r.NumericEquals).sort()).toEqual(
      FARGATE_RETRIED_ERRORS.map((name) => TASK_EXIT_CODES[name]).sort(),
    );
    const { IntervalSeconds, BackoffRate, MaxAttempts } = streamRetry as Record<string, number>;
    expect(FARGATE_RETRY_WAIT_SECONDS).toEqual(
      Array.from({ length: MaxAttempts! }, (_, i) => IntervalSeconds! * BackoffRate! ** i),
    );
    for (const [i, seconds] of FARGATE_RETRY_WAIT_SECONDS.entries())
      expect(definition.States[fargateRetryWaitState(i + 1)]).toEqual({
        Type: 'Wait',
        Seconds: seconds,
        Next: FARGATE_DUMP_STATE,
      });
    expect(definition.States.WhenToRetryFargateDump).toMatchObject({
      Default: 'FargateDumpFailed',
      Choices: FARGATE_RETRY_WAIT_SECONDS.map((_, i) => ({ NumericEquals: i + 1, Next: fargateRetryWaitState(i + 1) })),
    });
  });
});
