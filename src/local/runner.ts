/**
 * Runs statemachine/backup.asl.json on this machine with aws-local-stepfunctions: the same
 * definition, the same handlers (through their createHandler), Retry and Catch as in AWS.
 */
import { randomBytes } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { BackupRequest } from '../contracts.ts';
import { compactTimestamp } from '../naming.ts';
import type { Runtime } from '../runtime.ts';
import * as cleanupFunction from '../../functions/cleanup.ts';
import * as dumpFunction from '../../functions/dump.ts';
import * as notifyFunction from '../../functions/notify.ts';
import * as planFunction from '../../functions/plan.ts';
import * as uploadFunction from '../../functions/upload.ts';
import { localFunctionArn, readDefinition, substitute, taskSubstitutions } from './definition.ts';
import { invokeLikeLambda, type LocalHandler } from './lambda-emulation.ts';

/** Each substitution of the definition and the function module that serves it. */
const LOCAL_FUNCTIONS: Record<string, { createHandler: (runtime: () => Runtime) => unknown }> = {
  PlanFunctionArn: planFunction,
  DumpFunctionArn: dumpFunction,
  UploadFunctionArn: uploadFunction,
  NotifyFunctionArn: notifyFunction,
  CleanupFunctionArn: cleanupFunction,
};

export const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepvault-local-backup';

export type WorkflowEvent =
  | { type: 'state-entered'; state: string; at: number; input: unknown }
  | { type: 'state-exited'; state: string; at: number; durationMs: number; output: unknown }
  | { type: 'state-failed'; state: string; stateType: string; at: number; error: string; cause: string }
  | { type: 'state-retried'; state: string; at: number; attempt: number }
  | { type: 'state-caught'; state: string; at: number };

export interface RunOptions {
  runtime: Runtime;
  request: BackupRequest;
  onEvent?: (event: WorkflowEvent) => void;
  /** Replaces every Retry interval (tests, and people who do not want to wait). */
  retryDelayMs?: number;
  executionName?: string;
}

export interface RunOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  executionArn: string;
  output?: unknown;
  error?: string;
  cause?: string;
  /** The state whose failure sent the run down the failure branch. */
  failedState?: string;
}

export async function runWorkflow(options: RunOptions): Promise<RunOutcome> {
  const definition = readDefinition();
  const tasks = taskSubstitutions(definition);
  const arns = Object.fromEntries([...new Set(tasks.values())].map((s) => [s, localFunctionArn(s)]));
  const machine = new StateMachine(substitute(definition, arns) as never);

  type LocalTask = (input: Parameters<typeof machine.run>[0]) => Promise<Parameters<typeof machine.run>[0]>;
  const handlers: Record<string, LocalTask> = {};
  for (const [state, substitution] of tasks) {
    const module = LOCAL_FUNCTIONS[substitution];
    if (!module) throw new Error(`no local function for \${${substitution}} (state ${state})`);
    handlers[state] = invokeLikeLambda(module.createHandler(() => options.runtime) as LocalHandler);
  }
  const retryIntervalOverrides =
    options.retryDelayMs === undefined ? undefined : Object.fromEntries([...tasks.keys()].map((s) => [s, options.retryDelayMs!]));

  const startTime = options.runtime.now();
  const name = options.executionName ?? `${options.request.target}-${compactTimestamp(startTime)}-${randomBytes(3).toString('hex')}`;
  const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
  const execution = machine.run({ ...options.request }, {
    overrides: { taskResourceLocalHandlers: handlers, ...(retryIntervalOverrides && { retryIntervalOverrides }) },
    context: {
      Execution: { Id: executionArn, Name: name, StartTime: startTime.toISOString(), Input: { ...options.request } },
      StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'stepvault-local-backup' },
    },
  });

  const events = forwardEvents(execution.eventLogs, options.onEvent);
  try {
    const output = await execution.result;
    await events;
    return { status: 'SUCCEEDED', executionArn, output };
  } catch (error) {
    const { firstCaught } = await events;
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

async function forwardEvents(logs: AsyncGenerator<unknown>, onEvent: RunOptions['onEvent'] = () => undefined): Promise<{ firstCaught?: string }> {
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
    };
    const state = event.state?.name;
    if (!state) continue;
    if (event.type === 'StateCaught') firstCaught ??= state;
    switch (event.type) {
      case 'StateEntered':
        entered.set(state, event.timestamp);
        onEvent({ type: 'state-entered', state, at: event.timestamp, input: event.state?.input });
        break;
      case 'StateExited':
        onEvent({ type: 'state-exited', state, at: event.timestamp, durationMs: event.timestamp - (entered.get(state) ?? event.timestamp), output: event.state?.output });
        break;
      case 'StateFailed':
        onEvent({ type: 'state-failed', state, stateType: event.state?.type ?? '', at: event.timestamp, error: event.Error ?? 'Error', cause: String(event.Cause ?? '') });
        break;
      case 'StateRetried':
        onEvent({ type: 'state-retried', state, at: event.timestamp, attempt: event.retry?.attempt ?? 0 });
        break;
      case 'StateCaught':
        onEvent({ type: 'state-caught', state, at: event.timestamp });
        break;
    }
  }
  return firstCaught === undefined ? {} : { firstCaught };
}
