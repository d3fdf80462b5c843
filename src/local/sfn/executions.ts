/**
 * The executions `stepvault serve` runs: each one the real workflow through the local runner, with its history in
 * AWS's vocabulary. Stopped (StopExecution) or timed out, an execution ends at once, as on AWS; here its run's Cleanup
 * work is then done too (the run's open writes closed, its staging folder removed), so that a stopped local run
 * leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import type { PlanResult } from '../../contracts.ts';
import type { Runtime } from '../../runtime.ts';
import { cleanup } from '../../steps/cleanup.ts';
import {
  LOCAL_STATE_MACHINE_ARN,
  localDefinition,
  runWorkflow,
  type RunOutcome,
  type WorkflowEvent,
} from '../runner.ts';
import { journalEntry, journalFile, recordRun } from '../../status/run-journal.ts';
import { ApiError } from './api-error.ts';
import { ExecutionHistory } from './history.ts';
import type { ExecutionStatus } from './validation.ts';

export const LOCAL_ROLE_ARN = 'arn:aws:iam::000000000000:role/stepvault-local';

export interface Execution {
  /** Order of creation: what ListExecutions sorts and pages by. */
  seq: number;
  executionArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
}

export interface ExecutionOptions {
  runtime: () => Runtime;
  retryDelayMs?: number;
  executionTimeoutSeconds?: number;
}

export class Executions {
  private readonly byArn = new Map<string, Execution>();
  private readonly aborts = new Map<string, AbortController>();
  private readonly work = new Set<Promise<unknown>>();

  private readonly options: ExecutionOptions;

  constructor(options: ExecutionOptions) {
    this.options = options;
  }

  /** Starts one, or returns the running one of that name when the input is the same (StartExecution is idempotent). */
  start(requestedName: string | undefined, input: string): Execution {
    const name = requestedName ?? randomUUID();
    const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
    const existing = this.byArn.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const runtime = this.options.runtime();
    const definition = localDefinition(runtime.config);
    const execution: Execution = {
      seq: this.byArn.size + 1,
      executionArn,
      name,
      status: 'RUNNING',
      startDate: Date.now() / 1000,
      input,
      history: new ExecutionHistory(definition),
    };
    this.byArn.set(executionArn, execution);
    execution.history.started(input, LOCAL_ROLE_ARN);
    const abort = new AbortController();
    this.aborts.set(executionArn, abort);
    this.track(this.run(execution, runtime, abort.signal).finally(() => this.aborts.delete(executionArn)));
    return execution;
  }

  find(executionArn: string): Execution {
    const execution = this.byArn.get(executionArn);
    if (!execution) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return execution;
  }

  /** Oldest first. */
  all(): Execution[] {
    return [...this.byArn.values()];
  }

  /** StopExecution: ABORTED from now on; the run stops before its next state. A closed execution stays as it was. */
  stop(executionArn: string, error?: string, cause?: string): Execution {
    const execution = this.find(executionArn);
    if (execution.status !== 'RUNNING') return execution;
    this.finish(execution, 'ABORTED', { error, cause });
    execution.history.ended('ExecutionAborted', { ...(error && { error }), ...(cause && { cause }) });
    this.aborts.get(executionArn)?.abort();
    return execution;
  }

  /** Resolves when every execution started so far has ended and its clean-up is done. */
  async idle(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  private track(work: Promise<unknown>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }

  private async run(execution: Execution, runtime: Runtime, signal: AbortSignal): Promise<void> {
    let plan: PlanResult | undefined;
    const onEvent = (event: WorkflowEvent) => {
      execution.history.record(event);
      plan = planOf(event) ?? plan;
    };
    const outcome = await runWorkflow({
      runtime,
      request: JSON.parse(execution.input),
      executionName: execution.name,
      signal,
      onEvent,
      ...(this.options.retryDelayMs !== undefined && { retryDelayMs: this.options.retryDelayMs }),
      ...(this.options.executionTimeoutSeconds !== undefined && {
        executionTimeoutSeconds: this.options.executionTimeoutSeconds,
      }),
    }).catch((error: Error) => ({ status: 'FAILED' as const, error: error.name, cause: error.message, output: null }));
    if (execution.status === 'ABORTED' || outcome.status === 'ABORTED') return cleanUp(plan, runtime);
    await recordForStatusPage(runtime, execution, outcome);
    if (outcome.status === 'SUCCEEDED') {
      this.finish(execution, 'SUCCEEDED', { output: JSON.stringify(outcome.output) });
      execution.history.ended('ExecutionSucceeded', { output: execution.output, outputDetails: { truncated: false } });
      return;
    }
    this.finish(execution, outcome.status, { error: outcome.error, cause: outcome.cause });
    const details = { error: outcome.error, cause: outcome.cause };
    if (outcome.status === 'FAILED') return execution.history.ended('ExecutionFailed', details);
    execution.history.ended('ExecutionTimedOut', details);
    // An execution timeout cannot be caught: no Cleanup state ran.
    return cleanUp(plan, runtime);
  }

  private finish(execution: Execution, status: ExecutionStatus, ended: Partial<Execution>): void {
    execution.status = status;
    execution.stopDate = Date.now() / 1000;
    for (const [key, value] of Object.entries(ended))
      if (value !== undefined) Object.assign(execution, { [key]: value });
  }
}

/** The run's plan, once a state's input carries it: what cleaning up after the run needs. */
function planOf(event: WorkflowEvent): PlanResult | undefined {
  if (event.type !== 'state-entered') return undefined;
  const plan = (event.input as { plan?: Partial<PlanResult> } | null)?.plan;
  return typeof plan?.runId === 'string' && typeof plan.stagingDir === 'string' ? (plan as PlanResult) : undefined;
}

/** The Cleanup step's work for a run that ended before its Cleanup state. */
async function cleanUp(plan: PlanResult | undefined, runtime: Runtime): Promise<void> {
  if (!plan) return;
  try {
    await cleanup({ run: { target: plan.target, plan } }, runtime);
  } catch (error) {
    runtime.log.error('cleaning up after a stopped execution failed', { runId: plan.runId, error: String(error) });
  }
}

/** The run in the target's journal, as `stepvault run` records it: the status page's source of failures and drills. */
async function recordForStatusPage(
  runtime: Runtime,
  execution: Execution,
  outcome: { status: RunOutcome['status']; output?: unknown; error?: string; cause?: string },
): Promise<void> {
  const request = JSON.parse(execution.input) as unknown;
  const name = request && typeof request === 'object' ? (request as { target?: unknown }).target : undefined;
  const target = typeof name === 'string' ? runtime.config.targets[name] : undefined;
  if (!target) return;
  const run: RunOutcome = {
    status: outcome.status,
    executionArn: execution.executionArn,
    ...(outcome.output ? { output: outcome.output as RunOutcome['output'] } : {}),
    ...(outcome.error !== undefined && { error: outcome.error }),
    ...(outcome.cause !== undefined && { cause: outcome.cause }),
  };
  // A journal that cannot be written costs the page a row, never the execution its result.
  await recordRun(journalFile(target.staging), journalEntry(target.name, run, new Date())).catch(() => undefined);
}
