/**
 * An execution's history as `stepvault start --wait` prints it, read from the events AWS emits: a line when a state
 * is entered and when it is left, and one for each failed attempt of a Task — LambdaFunctionFailed/TimedOut for a
 * Lambda function, TaskFailed/TimedOut for a service integration (the fargate runner's ECS task). An event names no
 * state itself; it follows its `previousEventId` back to the state it belongs to.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { readableCause } from '../text/cause.ts';

/** How the execution ended, from its last event. */
export interface ExecutionEnd {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  error?: string;
  cause?: string;
}

const ENDS: Record<string, ExecutionEnd['status']> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionAborted: 'ABORTED',
  ExecutionTimedOut: 'TIMED_OUT',
};

interface Entered {
  name: string;
  at: number;
  attempts: number;
  failed: boolean;
}

export class HistoryLines {
  /** Each event's state: the StateEntered event it follows from. */
  private readonly stateOf = new Map<number, Entered>();

  /** The lines one event adds (none for most). */
  describe(event: HistoryEvent): string[] {
    const id = event.id ?? 0;
    const at = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
    const entered = event.stateEnteredEventDetails?.name;
    if (entered !== undefined) {
      this.stateOf.set(id, { name: entered, at, attempts: 0, failed: false });
      return [`→ ${entered}`];
    }
    const state = this.stateOf.get(event.previousEventId ?? 0);
    if (state) this.stateOf.set(id, state);
    const type = event.type ?? '';
    if (type === 'LambdaFunctionScheduled' || type === 'TaskScheduled') {
      if (state) {
        state.attempts += 1;
        state.failed = false;
      }
      return [];
    }
    const failure =
      event.lambdaFunctionFailedEventDetails ??
      event.lambdaFunctionTimedOutEventDetails ??
      event.taskFailedEventDetails ??
      event.taskTimedOutEventDetails;
    if (failure) {
      if (state) state.failed = true;
      const which = state ? `${state.name} attempt ${state.attempts} ` : '';
      return [`  ${which}failed: ${failure.error ?? 'Error'}: ${readableCause(failure.cause ?? '')}`];
    }
    const exited = event.stateExitedEventDetails?.name;
    if (exited !== undefined) {
      const seconds = ((at - (state?.at ?? at)) / 1000).toFixed(2);
      return state?.failed
        ? [`✗ ${exited.padEnd(22)} ${seconds}s  (failed: taking the failure branch)`]
        : [`✓ ${exited.padEnd(22)} ${seconds}s`];
    }
    return [];
  }
}

/** The execution's end when `event` is its last event. */
export function executionEnd(event: HistoryEvent): ExecutionEnd | undefined {
  const status = ENDS[event.type ?? ''];
  if (!status) return undefined;
  const details =
    event.executionFailedEventDetails ?? event.executionAbortedEventDetails ?? event.executionTimedOutEventDetails;
  return {
    status,
    ...(details?.error !== undefined && { error: details.error }),
    ...(details?.cause !== undefined && { cause: details.cause }),
  };
}
