/**
 * Runs statemachine/backup.asl.json on this machine with aws-local-stepfunctions: the same
 * definition, the same handlers (through their createHandler), Retry and Catch as in AWS.
 */
import { randomBytes } from 'node:crypto';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import type { BackupRequest, RunState } from '../contracts.ts';
import { compactTimestamp } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { executionDefinition } from '../statemachine/execution-timeout.ts';
import { stepOfSubstitution, type StepName } from '../steps/table.ts';
import {
  localFunctionArn,
  type StateMachineDefinition,
  substitute,
  taskSubstitutions,
} from '../statemachine/definition.ts';
import { ecsTaskStates, LOCAL_TASK_SUBSTITUTIONS, runLocalTask, type RunTaskParameters } from './ecs-task.ts';
import { invokeLikeLambda, type LocalHandler } from './lambda-emulation.ts';
import { TasksUnderWay } from './tasks-under-way.ts';

/** What the local runner needs of a handler module, functions/<step>.ts. */
export interface LocalFunction {
  createHandler: (runtime: () => Runtime) => unknown;
}

/**
 * A step's handler module, found by the step's name where the table of steps puts it (`handlerFile`): a new step needs
 * no line here. The path stays a template literal with a fixed folder and extension, so that a bundler (esbuild) sees
 * every module it can name and bundles them all. src/local/runner.test.ts holds it to `handlerFile`, and
 * test/lambda-bundle.test.ts checks that a bundled CLI has every handler.
 */
export async function localFunction(step: StepName): Promise<LocalFunction> {
  return (await import(`../../functions/${step}.ts`)) as LocalFunction;
}

export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepvault-local-backup';

/**
 * `index` is set on the states of a Map iteration: which item they work on. The iteration events name the Map state
 * in `state` and the item in `index`.
 */
export type WorkflowEvent = { state: string; at: number; index?: number } & (
  | { type: 'state-entered'; input: unknown }
  | { type: 'state-exited'; durationMs: number; output: unknown }
  | { type: 'state-failed'; stateType: string; error: string; cause: string }
  | { type: 'state-retried'; attempt: number }
  | { type: 'state-caught' }
  | { type: 'iteration-started' }
  | { type: 'iteration-succeeded' }
  | { type: 'iteration-failed'; error: string; cause: string }
);

export interface RunOptions {
  runtime: Runtime;
  request: BackupRequest;
  onEvent?: (event: WorkflowEvent) => void;
  /** Replaces every Retry interval (tests, and people who do not want to wait). */
  retryDelayMs?: number;
  /** Replaces the duration of every Wait state (the RDS polling loop). */
  waitMs?: number;
  executionName?: string;
  /** Stops the execution: no further state starts (Ctrl-C of `stepvault run`), and a running ECS task is stopped. */
  signal?: AbortSignal;
  /** Sees each ECS task (the fargate runner's) as its process starts. */
  onTask?: (task: { pid: number; taskArn: string }) => void;
  /** Follows every Task state's handler from its start until it settles (what an interruption waits for). */
  tasksUnderWay?: TasksUnderWay;
  /** Replaces the execution's TimeoutSeconds (tests, and trying what a timed-out execution looks like). */
  executionTimeoutSeconds?: number;
}

export interface RunOutcome {
  /** ABORTED: stopped through `signal`; TIMED_OUT: the execution's TimeoutSeconds ran out (no Catch sees either). */
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  executionArn: string;
  /** The execution's output when it succeeded: the run's final state. */
  output?: RunState;
  error?: string;
  cause?: string;
  /** The state whose failure sent the run down the failure branch. */
  failedState?: string;
}

/**
 * The definition a local run executes: the same Task and execution timeouts as a deployment of this config gets,
 * each function's substitution filled with its local ARN.
 */
export function localDefinition(config: Runtime['config']): StateMachineDefinition {
  const definition = executionDefinition(config);
  const arns = Object.fromEntries(
    [...new Set(taskSubstitutions(definition).values())].map((s) => [s, localFunctionArn(s)]),
  );
  return substitute(definition, { ...arns, ...LOCAL_TASK_SUBSTITUTIONS });
}

export async function runWorkflow(options: RunOptions): Promise<RunOutcome> {
  const definition = executionDefinition(options.runtime.config);
  if (options.executionTimeoutSeconds !== undefined) definition.TimeoutSeconds = options.executionTimeoutSeconds;
  const tasks = taskSubstitutions(definition);
  // Not validated again at every run: validating the ASL took a fifth of a small run's time, and
  // the definition is checked once, by the state machine's contract test (asl-validator, paths and ARNs).
  const machine = new StateMachine(
    { ...localDefinition(options.runtime.config), TimeoutSeconds: definition.TimeoutSeconds } as never,
    { validationOptions: { noValidate: true } },
  );

  type LocalTask = (input: Parameters<typeof machine.run>[0]) => Promise<Parameters<typeof machine.run>[0]>;
  const handlers: Record<string, LocalTask> = {};
  const underWay = options.tasksUnderWay ?? new TasksUnderWay();
  const startTime = options.runtime.now();
  for (const [state, substitution] of tasks) {
    const step = stepOfSubstitution(substitution);
    if (!step) throw new Error(`no local function for \${${substitution}} (state ${state})`);
    // Loaded when the state first runs, as Lambda loads a function at its first invocation: a run
    // that never enters Doctor, CollectDump or CheckRdsBackup does not load them.
    let handler: Promise<LocalTask> | undefined;
    const load = async (): Promise<LocalTask> => {
      const module = await localFunction(step);
      return invokeLikeLambda<Parameters<typeof machine.run>[0]>(
        module.createHandler(() => options.runtime) as LocalHandler,
      );
    };
    handlers[state] = (input) =>
      underWay.track(state, input, async () => {
        handler ??= load();
        return (await handler)(withExecutionStart(input, startTime));
      });
  }
  // The fargate runner's ECS task runs here as a child process of the task's entrypoint.
  const ecsTasks = ecsTaskStates(definition);
  for (const state of ecsTasks) {
    handlers[state] = (input) =>
      underWay.track(
        state,
        input,
        () =>
          runLocalTask(input as RunTaskParameters, {
            config: options.runtime.config,
            ...(options.signal && { signal: options.signal }),
            ...(options.onTask && { onStart: options.onTask }),
          }) as never,
      );
  }
  const waitStates = Object.entries(definition.States)
    .filter(([, s]) => s.Type === 'Wait')
    .map(([name]) => name);
  const waitTimeOverrides =
    options.waitMs === undefined ? undefined : Object.fromEntries(waitStates.map((s) => [s, options.waitMs!]));
  const retryIntervalOverrides =
    options.retryDelayMs === undefined
      ? undefined
      : Object.fromEntries([...tasks.keys(), ...ecsTasks].map((s) => [s, options.retryDelayMs!]));

  const name =
    options.executionName ??
    `${options.request.target}-${compactTimestamp(startTime)}-${randomBytes(3).toString('hex')}`;
  const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  const execution = machine.run(
    { ...options.request },
    {
      overrides: {
        taskResourceLocalHandlers: handlers,
        ...(retryIntervalOverrides && { retryIntervalOverrides }),
        ...(waitTimeOverrides && { waitTimeOverrides }),
      },
      context: {
        Execution: { Id: executionArn, Name: name, StartTime: startTime.toISOString(), Input: { ...options.request } },
        StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'stepvault-local-backup' },
      },
    },
  );

  options.signal?.addEventListener('abort', () => execution.abort(), { once: true });
  const events = forwardEvents(execution.eventLogs, options.onEvent);
  try {
    // The final state as backup.asl.json writes it; src/statemachine/contract.test.ts keeps RunState to that.
    const output = (await execution.result) as unknown as RunState;
    await events;
    return { status: 'SUCCEEDED', executionArn, output };
  } catch (error) {
    const { firstCaught } = await events;
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED', executionArn };
    if (error instanceof ExecutionTimeoutError)
      return {
        status: 'TIMED_OUT',
        executionArn,
        error: 'States.Timeout',
        cause: `the execution ran longer than its TimeoutSeconds (${definition.TimeoutSeconds} s)`,
      };
    // The executor wraps the Fail state's error (name = Error, message = Cause) in an ExecutionError.
    const failure = ((error as { cause?: unknown }).cause ?? error) as { name?: string; message?: string };
    return {
      status: 'FAILED',
      executionArn,
      error: failure.name ?? 'Error',
      cause: failure.message ?? '',
      ...(firstCaught && { failedState: firstCaught }),
    };
  }
}

async function forwardEvents(
  logs: AsyncGenerator<unknown>,
  onEvent: RunOptions['onEvent'] = () => undefined,
): Promise<{ firstCaught?: string }> {
  const entered = new Map<string, number>();
  let firstCaught: string | undefined;
  for await (const raw of logs) {
    const event = raw as {
      type: string;
      timestamp: number;
      state?: { name: string; type: string; input?: unknown; output?: unknown };
      Error?: string;
      Cause?: unknown;
      retry?: { attempt: number };
      index?: number;
      parentState?: { name: string };
    };
    const parent = event.parentState?.name;
    if (parent !== undefined && event.index !== undefined && event.type.startsWith('MapIteration')) {
      const iteration = { state: parent, at: event.timestamp, index: event.index };
      if (event.type === 'MapIterationStarted') onEvent({ ...iteration, type: 'iteration-started' });
      else if (event.type === 'MapIterationSucceeded') onEvent({ ...iteration, type: 'iteration-succeeded' });
      else
        onEvent({
          ...iteration,
          type: 'iteration-failed',
          error: event.Error ?? 'Error',
          cause: String(event.Cause ?? ''),
        });
      continue;
    }
    const state = event.state?.name;
    if (!state) continue;
    // The failed state is the first top-level one caught; Map iterations report their own.
    if (event.type === 'StateCaught' && event.index === undefined) firstCaught ??= state;
    const base = { state, at: event.timestamp, ...(event.index !== undefined && { index: event.index }) };
    const key = `${event.index ?? ''}/${state}`;
    switch (event.type) {
      case 'StateEntered':
        entered.set(key, event.timestamp);
        onEvent({ ...base, type: 'state-entered', input: event.state?.input });
        break;
      case 'StateExited':
        onEvent({
          ...base,
          type: 'state-exited',
          durationMs: event.timestamp - (entered.get(key) ?? event.timestamp),
          output: event.state?.output,
        });
        break;
      case 'StateFailed':
        onEvent({
          ...base,
          type: 'state-failed',
          stateType: event.state?.type ?? '',
          error: event.Error ?? 'Error',
          cause: String(event.Cause ?? ''),
        });
        break;
      case 'StateRetried':
        onEvent({ ...base, type: 'state-retried', attempt: event.retry?.attempt ?? 0 });
        break;
      case 'StateCaught':
        onEvent({ ...base, type: 'state-caught' });
        break;
    }
  }
  return firstCaught === undefined ? {} : { firstCaught };
}

/**
 * The executor stamps $$.Execution.StartTime with its own clock, whatever context it is given.
 * Here the runtime's clock is the service's clock (tests run a week of backups in a second), so
 * the start time a task receives is set back to the one this execution was started with.
 */
function withExecutionStart<T>(input: T, startTime: Date): T {
  const execution = (input as { execution?: { startTime?: unknown } } | null)?.execution;
  if (execution && typeof execution === 'object' && 'startTime' in execution) {
    return { ...input, execution: { ...execution, startTime: startTime.toISOString() } };
  }
  return input;
}
