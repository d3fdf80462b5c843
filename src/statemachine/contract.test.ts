/**
 * The contract between statemachine/backup.asl.json and the code: the definition is valid ASL,
 * every error name it matches exists, every Task retries and catches, and every substitution
 * has a handler.
 */
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { RUN_STATE_KEYS, type DumpResult, type Failure } from '../contracts.ts';
import { ERROR_NAMES } from '../errors.ts';
import { DEFAULT_FUNCTION_TIMEOUTS, timedDefinition } from './execution-timeout.ts';
import { localFunctionArn, readDefinition, substitute, taskSubstitutions, type StateDefinition } from './definition.ts';
import { LOCAL_TASK_SUBSTITUTIONS } from '../local/ecs-task.ts';
import type { Runner } from '../runners/types.ts';
import { ECS_RUN_TASK_SYNC, TASK_CONTAINER_NAME, TASK_ENV, TASK_SUBSTITUTIONS } from '../task/contract.ts';
import { STEP_NAMES, substitutionOf } from '../steps/table.ts';

const definition = readDefinition();
const states = Object.entries(definition.States);
/** Every Task, including those inside the Upload map's iteration. */
const tasks = [...states, ...states.flatMap(([, s]) => Object.entries(s.ItemProcessor?.States ?? {}))].filter(
  ([, s]) => s.Type === 'Task',
);

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  JitterStrategy?: string;
}
interface Catcher {
  ErrorEquals: string[];
  Next: string;
}
const retriers = (s: StateDefinition) => (s.Retry ?? []) as Retrier[];
const catchers = (s: StateDefinition) => (s.Catch ?? []) as Catcher[];

describe('statemachine/backup.asl.json', () => {
  it('is valid Amazon States Language once its substitutions are filled in', () => {
    const arns = Object.fromEntries([...taskSubstitutions(definition).values()].map((s) => [s, localFunctionArn(s)]));
    const { isValid, errors } = aslValidator(
      substitute(
        timedDefinition(definition, {
          functionTimeouts: DEFAULT_FUNCTION_TIMEOUTS,
          loopSeconds: { WaitForRdsBackup: 14_400 },
          mapItems: 1,
        }),
        { ...arns, ...LOCAL_TASK_SUBSTITUTIONS },
      ),
      { checkArn: true, checkPaths: true },
    );
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  /** The states a successful run passes, with Plan's runner deciding ChooseRunner. */
  function successPath(runner: Runner): string[] {
    const path: string[] = [];
    let current: string | undefined = definition.StartAt;
    while (current) {
      path.push(current);
      const state: StateDefinition | undefined = definition.States[current];
      const chosen = ((state?.Choices ?? []) as { Variable: string; StringEquals: string; Next: string }[]).find(
        (c) => c.Variable === '$.plan.runner' && c.StringEquals === runner,
      );
      // Any other Choice's default is the path of every engine but RDS for SQL Server.
      current = (state?.Type === 'Choice' ? (chosen?.Next ?? state.Default) : state?.Next) as string | undefined;
    }
    return path;
  }

  it('runs Plan → Dump → Upload → Verify → Prune → NotifySuccess → Cleanup → Done on success with runner efs', () => {
    expect(successPath('efs')).toEqual([
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
  });

  it('runs Plan → StreamDump → the same Upload map and on with runner lambda', () => {
    expect(successPath('lambda')).toEqual([
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
    // A runner the machine has no branch for fails through the failure mail, never into another runner's path.
    expect(definition.States.ChooseRunner?.Default).toBe('NoSuchRunner');
    expect(definition.States.NoSuchRunner).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.failure',
      Next: 'NotifyFailure',
      Parameters: { state: 'ChooseRunner', error: 'ConfigError' },
    });
  });

  it('matches only error names that exist in src/errors.ts, Lambda or Step Functions', () => {
    const names = tasks.flatMap(([, s]) => [...retriers(s), ...catchers(s)].flatMap((r) => r.ErrorEquals));
    for (const name of names) {
      // ECS.*: what the ECS service integration throws when RunTask itself fails (throttled, a server error).
      const known =
        Object.hasOwn(ERROR_NAMES, name) ||
        name.startsWith('Lambda.') ||
        name.startsWith('States.') ||
        name.startsWith('ECS.');
      expect(known, `${name} is not a known error name`).toBe(true);
    }
    // Retries are for errors that may pass; a config or dump error is never retried.
    const retried = new Set(tasks.flatMap(([, s]) => retriers(s).flatMap((r) => r.ErrorEquals)));
    for (const [name, retryable] of Object.entries(ERROR_NAMES)) {
      if (!retryable) expect(retried.has(name), `${name} must not be retried`).toBe(false);
    }
    expect(retried.has('ConnectionError')).toBe(true);
  });

  it('routes a doctor execution to Doctor alone, which ends it with its report: no dump, no upload, no mail', () => {
    expect(definition.StartAt).toBe('IsDoctor');
    expect(definition.States.IsDoctor).toMatchObject({ Type: 'Choice', Default: 'Plan' });
    expect((definition.States.IsDoctor!.Choices as { Next: string }[]).map((c) => c.Next)).toEqual(['Doctor']);
    expect(definition.States.Doctor).toMatchObject({ Type: 'Task', Resource: '${DoctorFunctionArn}', End: true });
    expect(definition.States.Doctor?.Catch).toBeUndefined();
  });

  it('gives every Task a timeout, a retry with backoff and jitter, and a catch-all', () => {
    for (const [name, state] of tasks) {
      // Doctor's failure is the execution's: there is no run to clean up after, and its own report is what is read.
      if (name === 'Doctor') continue;
      expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      const [retry] = retriers(state);
      expect(retry, name).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(retry!.MaxAttempts, name).toBeGreaterThan(0);
      expect(retry!.IntervalSeconds, name).toBeGreaterThan(0);
      expect(
        catchers(state).some((c) => c.ErrorEquals.includes('States.ALL')),
        name,
      ).toBe(true);
    }
  });

  it('sends every failure of the success path through NotifyFailure → CleanupAfterFailure → BackupFailed', () => {
    for (const name of ['Plan', 'Dump', 'StreamDump', 'CheckRdsBackup', 'Verify', 'Cleanup']) {
      const recorder = catchers(definition.States[name]!)[0]!.Next;
      expect(definition.States[recorder]).toMatchObject({
        Type: 'Pass',
        Next: 'NotifyFailure',
        Parameters: { state: name },
      });
    }
    expect(definition.States.NotifyFailure?.Next).toBe('CleanupAfterFailure');
    expect(definition.States.CleanupAfterFailure?.Next).toBe('BackupFailed');
    expect(definition.States.BackupFailed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.failure.error',
      CausePath: '$.failure.cause',
    });
    // Neither failed retention nor a failed success mail fails a good backup.
    expect(catchers(definition.States.Prune!)[0]!.Next).toBe('NotifySuccess');
    expect(catchers(definition.States.NotifySuccess!)[0]!.Next).toBe('Cleanup');
    // Upload is a Map: a required destination's failure fails it, and its Catch takes over.
    expect(definition.States.Upload).toMatchObject({ Type: 'Map', ItemsPath: '$.plan.destinations' });
    expect(catchers(definition.States.Upload!)[0]!.Next).toBe('UploadFailed');
    // The RDS polling loop: a dump the server is writing waits; Wait → CheckRdsBackup → Choice, back to Wait until it
    // is written.
    const kind = (value: DumpResult['kind']) => value;
    expect(definition.States.IsRdsBackup).toMatchObject({
      Type: 'Choice',
      Default: 'Upload',
      Choices: [{ Variable: '$.dump.kind', StringEquals: kind('server-writing'), Next: 'WaitForRdsBackup' }],
    });
    expect(definition.States.WaitForRdsBackup).toMatchObject({ Type: 'Wait', Next: 'CheckRdsBackup' });
    expect(definition.States.CheckRdsBackup?.Next).toBe('IsRdsBackupDone');
    expect(definition.States.IsRdsBackupDone).toMatchObject({
      Type: 'Choice',
      Default: 'WaitForRdsBackup',
      Choices: [{ Variable: '$.dump.kind', StringEquals: kind('server-written'), Next: 'Upload' }],
    });
  });

  it("writes the run's state as RunState describes it: each result at its own key, the failure as a Failure", () => {
    const resultPaths = states.flatMap(([name, s]) =>
      [s.ResultPath, ...catchers(s).map((c) => (c as { ResultPath?: unknown }).ResultPath)]
        // null: the result is dropped (the ECS task's description, which CollectDump replaces).
        .filter((p) => p !== undefined && p !== null)
        .map((p) => [name, p] as const),
    );
    const written = resultPaths.map(([name, p]) => {
      expect(p, name).toMatch(/^\$\.[A-Za-z]+$/);
      return (p as string).slice(2);
    });
    // Every state that yields a result puts it under a key; none replaces the whole state.
    // Doctor is the one exception: a doctor execution's output is its report alone (DoctorReport).
    for (const [name, s] of states)
      if (['Task', 'Map', 'Pass'].includes(s.Type) && name !== 'Doctor') expect(s.ResultPath, name).toBeDefined();
    // The input of the execution (BackupRequest) is the rest.
    expect([...new Set([...written, 'target'])].sort()).toEqual([...RUN_STATE_KEYS].sort());
    const failureKeys: (keyof Failure)[] = ['cause', 'error', 'state'];
    for (const [name, s] of states.filter(([, s]) => s.Type === 'Pass' && s.ResultPath === '$.failure')) {
      expect(
        Object.keys(s.Parameters as object)
          .map((k) => k.replace(/\.\$$/, ''))
          .sort(),
        name,
      ).toEqual(failureKeys);
    }
  });

  it('calls functions only through the substitutions of the table of steps, which the local runner serves', () => {
    const substitutions = new Set(taskSubstitutions(definition).values());
    expect([...substitutions].sort()).toEqual(STEP_NAMES.map(substitutionOf).sort());
    const ecsTasks = tasks.filter(([, s]) => s.Resource === ECS_RUN_TASK_SYNC);
    expect(taskSubstitutions(definition).size).toBe(tasks.length - ecsTasks.length);
  });

  it('runs Plan → FargateDump → CollectDump → the same Upload map with runner fargate', () => {
    expect(successPath('fargate')).toEqual([
      'IsDoctor',
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
    const task = definition.States.FargateDump!;
    expect(task.Resource).toBe(ECS_RUN_TASK_SYNC);
    // Every value the deployment fills, and the container's step and input as the entrypoint reads them.
    const text = JSON.stringify(task.Parameters);
    for (const name of Object.values(TASK_SUBSTITUTIONS)) expect(text).toContain(`\${${name}}`);
    expect(task.Parameters).toMatchObject({
      LaunchType: 'FARGATE',
      Overrides: {
        ContainerOverrides: [
          {
            Name: TASK_CONTAINER_NAME,
            Environment: [
              { Name: TASK_ENV.step, Value: 'streamDump' },
              { Name: TASK_ENV.input, 'Value.$': 'States.JsonToString($.plan)' },
            ],
          },
        ],
      },
    });
    expect(catchers(task).at(-1)!.Next).toBe('FargateDumpFailed');
    expect(catchers(definition.States.CollectDump!)[0]!.Next).toBe('CollectDumpFailed');
  });

  it('retries RunTask’s own failures on FargateDump, and a stopped task (States.TaskFailed) through states that read its exit code', () => {
    const task = definition.States.FargateDump!;
    const retried = ((task.Retry ?? []) as { ErrorEquals: string[] }[]).flatMap((r) => r.ErrorEquals);
    // runTask.sync never raises the step's own errors: ECS knows only the container's exit code, in the cause.
    expect(retried.length).toBeGreaterThan(0);
    for (const name of retried) expect(name, name).toMatch(/^ECS\./);
    // Both catches keep the error at one key, so FargateDumpFailed reports the last one, whichever it was; the
    // run's failure stays unset while a retried task may still succeed.
    expect(catchers(task)).toEqual([
      { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.fargateError', Next: 'IsFargateTaskDescribed' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.fargateError', Next: 'FargateDumpFailed' },
    ]);
    expect(definition.States.FargateDumpFailed).toMatchObject({
      Type: 'Pass',
      Parameters: { state: 'FargateDump', 'error.$': '$.fargateError.Error', 'cause.$': '$.fargateError.Cause' },
      ResultPath: '$.failure',
      Next: 'NotifyFailure',
    });
    // Every way out of the retry states is FargateDump again (after a Wait) or FargateDumpFailed.
    const retryStates = [
      'IsFargateTaskDescribed',
      'CountFargateTaskStopped',
      'CountFargateTaskStoppedAgain',
      'IsFargateTaskRetryable',
      'WhenToRetryFargateDump',
    ];
    const exits = new Set(
      retryStates.flatMap((name) => {
        const s = definition.States[name]!;
        return [s.Next, s.Default, ...((s.Choices ?? []) as { Next: string }[]).map((c) => c.Next)];
      }),
    );
    exits.delete(undefined);
    for (const name of retryStates) exits.delete(name);
    expect([...exits].sort()).toEqual([
      'FargateDumpFailed',
      'WaitToRetryFargateDump1',
      'WaitToRetryFargateDump2',
      'WaitToRetryFargateDump3',
    ]);
    for (const name of retryStates.filter((n) => n.startsWith('Count')))
      expect(definition.States[name]).toMatchObject({ Type: 'Pass', ResultPath: '$.fargateRetry' });
  });
});
