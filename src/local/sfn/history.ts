/**
 * An execution's history in the event types AWS emits for the ASL as written: a Task whose Resource is a Lambda ARN
 * gives LambdaFunctionScheduled/Started/Succeeded/Failed for each attempt, a service integration
 * (`arn:aws:states:::ecs:runTask.sync`) TaskScheduled/Started/Succeeded/Failed, a Map MapStateStarted,
 * MapIteration* for each item and MapStateSucceeded/Failed. Each event links to the one it follows
 * (`previousEventId`): inside a Map iteration, to the iteration's previous event.
 */
import type { StateMachineDefinition } from '../../statemachine/definition.ts';
import type { WorkflowEvent } from '../runner.ts';

export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface StateInfo {
  type: string;
  resource?: string;
  timeoutSeconds?: number;
  itemsPath?: string;
}

const SERVICE_INTEGRATION = /^arn:aws:states:::([a-z0-9-]+):(.+)$/;
const DATA = { truncated: false };

/** Every state of the definition, at every depth, by name (state names are unique within backup.asl.json). */
function catalog(definition: StateMachineDefinition): Map<string, StateInfo> {
  const states = new Map<string, StateInfo>();
  const visit = (machine: StateMachineDefinition) => {
    for (const [name, state] of Object.entries(machine.States)) {
      states.set(name, {
        type: state.Type,
        ...(typeof state.Resource === 'string' && { resource: state.Resource }),
        ...(typeof state.TimeoutSeconds === 'number' && { timeoutSeconds: state.TimeoutSeconds }),
        ...(typeof state.ItemsPath === 'string' && { itemsPath: state.ItemsPath }),
      });
      const nested = state.ItemProcessor ?? state.Iterator;
      if (nested) visit(nested);
    }
  };
  visit(definition);
  return states;
}

/** `$.plan.destinations` of an input: the items a Map state iterates (only the plain dotted paths the ASL uses). */
function itemsAt(path: string | undefined, input: unknown): unknown[] | undefined {
  let value: unknown = input;
  for (const key of (path ?? '$')
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean))
    value = (value as Record<string, unknown> | null)?.[key];
  return Array.isArray(value) ? value : undefined;
}

const json = (value: unknown) => JSON.stringify(value ?? null);

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  private readonly states: Map<string, StateInfo>;
  /** The last event of each thread: the execution's ('') and each Map iteration's (its index). */
  private readonly last = new Map<string, number>();
  /** Task states whose current attempt failed: their exit is not a success. */
  private readonly failed = new Set<string>();
  private readonly inputs = new Map<string, unknown>();
  private closed = false;

  constructor(definition: StateMachineDefinition) {
    this.states = catalog(definition);
  }

  /** The events from now on are dropped: the execution ended (stopped, timed out) while a state was still at work. */
  close(): void {
    this.closed = true;
  }

  private add(thread: string, type: string, details: Record<string, unknown> = {}, previous?: number): number {
    const id = this.events.length + 1;
    if (this.closed) return id;
    const previousEventId = previous ?? this.last.get(thread) ?? this.last.get('') ?? 0;
    this.events.push({ id, previousEventId, timestamp: Date.now() / 1000, type, ...details });
    this.last.set(thread, id);
    return id;
  }

  started(input: string, roleArn: string): void {
    this.add('', 'ExecutionStarted', { executionStartedEventDetails: { input, inputDetails: DATA, roleArn } });
  }

  /** The last event of the execution; it closes the history. */
  ended(type: 'ExecutionSucceeded' | 'ExecutionFailed' | 'ExecutionAborted' | 'ExecutionTimedOut', details = {}) {
    const key = `${type[0]!.toLowerCase()}${type.slice(1)}EventDetails`;
    this.add('', type, { [key]: details }, this.events.at(-1)?.id ?? 0);
    this.close();
  }

  record(event: WorkflowEvent): void {
    const thread = event.index === undefined ? '' : String(event.index);
    const key = `${thread}/${event.state}`;
    const info = this.states.get(event.state) ?? { type: 'Task' };
    switch (event.type) {
      case 'state-entered':
        this.inputs.set(key, event.input);
        this.failed.delete(key);
        this.add(thread, `${info.type}StateEntered`, {
          stateEnteredEventDetails: { name: event.state, input: json(event.input), inputDetails: DATA },
        });
        if (info.type === 'Task') this.attempt(thread, info, event.input);
        if (info.type === 'Map') {
          const items = itemsAt(info.itemsPath, event.input);
          this.add(thread, 'MapStateStarted', { mapStateStartedEventDetails: { length: items?.length ?? 0 } });
        }
        break;
      case 'state-retried':
        this.failed.delete(key);
        if (info.type === 'Task') this.attempt(thread, info, this.inputs.get(key));
        break;
      case 'state-failed':
        this.failed.add(key);
        if (info.type === 'Task') this.taskFailed(thread, info, event.error, event.cause);
        if (info.type === 'Map') this.add('', 'MapStateFailed', {}, this.events.at(-1)?.id);
        break;
      case 'state-exited':
        if (!this.failed.has(key)) this.succeeded(thread, info, event.output);
        this.add(thread, `${info.type}StateExited`, {
          stateExitedEventDetails: { name: event.state, output: json(event.output), outputDetails: DATA },
        });
        break;
      case 'iteration-started':
        this.last.set(thread, this.last.get('') ?? 0);
        this.add(thread, 'MapIterationStarted', {
          mapIterationStartedEventDetails: { name: event.state, index: event.index },
        });
        break;
      case 'iteration-succeeded':
      case 'iteration-failed':
        this.add(thread, event.type === 'iteration-succeeded' ? 'MapIterationSucceeded' : 'MapIterationFailed', {
          [event.type === 'iteration-succeeded'
            ? 'mapIterationSucceededEventDetails'
            : 'mapIterationFailedEventDetails']: { name: event.state, index: event.index },
        });
        // The Map state goes on from the iteration that ended last.
        this.last.set('', this.last.get(thread)!);
        break;
      case 'state-caught':
        break;
    }
  }

  /** One attempt of a Task: scheduled, then started. */
  private attempt(thread: string, info: StateInfo, input: unknown): void {
    const service = SERVICE_INTEGRATION.exec(info.resource ?? '');
    const timeout = info.timeoutSeconds === undefined ? {} : { timeoutInSeconds: info.timeoutSeconds };
    if (service) {
      const [, resourceType, resource] = service;
      this.add(thread, 'TaskScheduled', {
        taskScheduledEventDetails: { resourceType, resource, region: 'us-east-1', parameters: json(input), ...timeout },
      });
      this.add(thread, 'TaskStarted', { taskStartedEventDetails: { resourceType, resource } });
      return;
    }
    this.add(thread, 'LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: {
        resource: info.resource,
        input: json(input),
        inputDetails: DATA,
        ...timeout,
      },
    });
    this.add(thread, 'LambdaFunctionStarted');
  }

  private taskFailed(thread: string, info: StateInfo, error: string, cause: string): void {
    const service = SERVICE_INTEGRATION.exec(info.resource ?? '');
    const timedOut = error === 'States.Timeout';
    if (service) {
      const [, resourceType, resource] = service;
      this.add(thread, timedOut ? 'TaskTimedOut' : 'TaskFailed', {
        [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { resourceType, resource, error, cause },
      });
      return;
    }
    this.add(thread, timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', {
      [timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails']: { error, cause },
    });
  }

  private succeeded(thread: string, info: StateInfo, output: unknown): void {
    if (info.type === 'Map') this.add('', 'MapStateSucceeded');
    if (info.type !== 'Task') return;
    const service = SERVICE_INTEGRATION.exec(info.resource ?? '');
    if (service) {
      const [, resourceType, resource] = service;
      this.add(thread, 'TaskSucceeded', {
        taskSucceededEventDetails: { resourceType, resource, output: json(output), outputDetails: DATA },
      });
      return;
    }
    this.add(thread, 'LambdaFunctionSucceeded', {
      lambdaFunctionSucceededEventDetails: { output: json(output), outputDetails: DATA },
    });
  }
}
