/**
 * The state machine's time limits, derived from the definition itself.
 *
 * On AWS an execution that reaches its `TimeoutSeconds` just stops: no Catch runs, so no failure
 * mail and no cleanup. So the execution's limit must exceed the longest any run can take, failure
 * branch included: for each state on the longest path, its Task timeout × every attempt its
 * retriers allow plus their back-off, a Map's iteration once per batch of items, the RDS polling
 * loop for as long as `mssql.timeoutMinutes` lets it run, and the failure branch after it all.
 *
 * And each Task's `TimeoutSeconds` must agree with its function's timeout (which the config may
 * set up to 900 s): a Task limit shorter than its function's cuts off work Lambda would still do;
 * a little longer lets Lambda's own timeout, with its clearer error, come first.
 */
import type { Config } from '../config/load.ts';
import { FARGATE_TIMEOUT_MINUTES } from '../config/schema/fargate.ts';
import { ECS_RUN_TASK_SYNC, FARGATE_DUMP_STATE, FARGATE_RETRY_WAIT_SECONDS } from '../task/contract.ts';
import { serverWrites } from '../engines/registry.ts';
import { readDefinition, type StateDefinition, type StateMachineDefinition } from './definition.ts';
import { STEP_NAMES, STEPS, stepOfSubstitution, type StepName } from '../steps/table.ts';

/** Lambda's own timeout of each function, in seconds, unless `deploy.functions.<fn>.timeout` says otherwise. */
export const DEFAULT_FUNCTION_TIMEOUTS = Object.fromEntries(
  STEP_NAMES.map((name) => [name, STEPS[name].timeout]),
) as Record<StepName, number>;

/**
 * The seconds between two looks at an RDS backup task: the Wait state of the polling loop, and what Dump plans its
 * looks by.
 */
export const RDS_POLL_SECONDS = 30;
/** The Wait state before each look at an RDS backup task. */
export const RDS_POLL_STATE = 'WaitForRdsBackup';

/** A Task waits this much longer than its function may run: the invocation itself and a cold start. */
export const TASK_MARGIN_SECONDS = 30;
/** The execution waits this much longer than its worst case: state transitions and scheduling. */
export const EXECUTION_MARGIN_SECONDS = 300;

export interface TimeoutInputs {
  /** Each function's timeout in seconds. */
  functionTimeouts: Record<StepName, number>;
  /**
   * The longest a polling loop may go on, by the state it loops back to (WaitForRdsBackup: mssql.timeoutMinutes × 60).
   */
  loopSeconds: Record<string, number>;
  /** The most items a Map state gets (the most destinations any target has). */
  mapItems: number;
  /**
   * How long an ECS task state (the fargate runner's) waits for its task: the longest `fargate.timeoutMinutes` of the
   * targets that may run on fargate. Left out, the ASL file's own.
   */
  taskSeconds?: number;
}

export function functionTimeouts(config: Config): Record<StepName, number> {
  const overrides = config.deploy?.functions ?? {};
  return Object.fromEntries(
    STEP_NAMES.map((fn) => [fn, overrides[fn]?.timeout ?? DEFAULT_FUNCTION_TIMEOUTS[fn]]),
  ) as Record<StepName, number>;
}

/** What the config says about the run's length: function timeouts, the RDS polling limit, destinations per target. */
export function timeoutInputs(config: Config): TimeoutInputs {
  const targets = Object.values(config.targets);
  const serverWrittenSeconds = Math.max(0, ...targets.map((t) => serverWrites(t)?.timeoutSeconds ?? 0));
  const onFargate = targets.filter((t) => t.runner === 'fargate' || t.runner === 'auto');
  return {
    functionTimeouts: functionTimeouts(config),
    loopSeconds: { [RDS_POLL_STATE]: serverWrittenSeconds },
    mapItems: Math.max(1, ...targets.map((t) => t.destinations.length)),
    // One state machine for every target: its task state waits as long as the most patient target asks.
    taskSeconds:
      60 *
      (onFargate.length === 0
        ? FARGATE_TIMEOUT_MINUTES.default
        : Math.max(...onFargate.map((t) => t.fargate?.timeoutMinutes ?? FARGATE_TIMEOUT_MINUTES.default))),
  };
}

/** statemachine/backup.asl.json with the time limits this config gets, deployed or run locally. */
export function executionDefinition(config: Config): StateMachineDefinition {
  return timedDefinition(readDefinition(), timeoutInputs(config));
}

/**
 * `${PlanFunctionArn}` → plan, `${CheckRdsBackupFunctionArn}` → checkRdsBackup; undefined for a
 * Task that calls a service (an ECS task: `arn:aws:states:::ecs:runTask.sync`), which keeps the
 * TimeoutSeconds its state gives.
 */
function functionOf(state: StateDefinition): StepName | undefined {
  if (state.Resource?.startsWith('arn:aws:states:::')) return undefined;
  const substitution = /^\$\{([A-Za-z0-9]+)\}$/.exec(state.Resource ?? '')?.[1];
  const fn = substitution && stepOfSubstitution(substitution);
  if (!fn) throw new Error(`Task resource ${state.Resource} names no stepvault function`);
  return fn;
}

/**
 * The definition with every Task's TimeoutSeconds set from its function's timeout, the RDS
 * polling Wait from RDS_POLL_SECONDS, and the execution's TimeoutSeconds set above the worst case
 * of the result; an ECS task state's from `fargate.timeoutMinutes`. The numbers written in the
 * ASL file are the defaults' (a test keeps them so).
 */
export function timedDefinition(definition: StateMachineDefinition, inputs: TimeoutInputs): StateMachineDefinition {
  const withTasks = mapStates(definition, (state, name) => {
    const fn = state.Type === 'Task' ? functionOf(state) : undefined;
    if (fn) return { ...state, TimeoutSeconds: inputs.functionTimeouts[fn] + TASK_MARGIN_SECONDS };
    if (state.Type === 'Task' && state.Resource === ECS_RUN_TASK_SYNC && inputs.taskSeconds !== undefined)
      return { ...state, TimeoutSeconds: inputs.taskSeconds };
    if (name === RDS_POLL_STATE) return { ...state, Seconds: RDS_POLL_SECONDS };
    return state;
  });
  return { ...withTasks, TimeoutSeconds: worstCaseSeconds(withTasks, inputs) + EXECUTION_MARGIN_SECONDS };
}

function mapStates(
  machine: StateMachineDefinition,
  change: (state: StateDefinition, name: string) => StateDefinition,
): StateMachineDefinition {
  const States = Object.fromEntries(
    Object.entries(machine.States).map(([name, state]) => {
      const changed = change(state, name);
      return [
        name,
        changed.ItemProcessor ? { ...changed, ItemProcessor: mapStates(changed.ItemProcessor, change) } : changed,
      ];
    }),
  );
  return { ...machine, States };
}

interface Retrier {
  MaxAttempts?: number;
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

/** The longest one state can take before it moves on (to Next, or to a Catch). */
export function stateSeconds(state: StateDefinition, inputs: TimeoutInputs): number {
  switch (state.Type) {
    case 'Task': {
      if (typeof state.TimeoutSeconds !== 'number')
        throw new Error(`Task ${state.Resource} has no TimeoutSeconds: its worst case is unbounded`);
      const retriers = (state.Retry ?? []) as Retrier[];
      // Each retrier counts its own attempts: errors that alternate between them get all of them.
      const attempts = 1 + retriers.reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
      return attempts * state.TimeoutSeconds + retriers.reduce((sum, r) => sum + backoffSeconds(r), 0);
    }
    case 'Wait':
      if (typeof state.Seconds !== 'number') throw new Error('a Wait state without fixed Seconds has no worst case');
      return state.Seconds;
    case 'Map': {
      const inner = state.ItemProcessor ?? state.Iterator;
      if (!inner) throw new Error('a Map state without an ItemProcessor');
      const concurrency =
        typeof state.MaxConcurrency === 'number' && state.MaxConcurrency > 0 ? state.MaxConcurrency : inputs.mapItems;
      return Math.ceil(inputs.mapItems / concurrency) * worstCaseSeconds(inner, inputs);
    }
    case 'Parallel':
      return Math.max(0, ...(state.Branches ?? []).map((branch) => worstCaseSeconds(branch, inputs)));
    default:
      return 0; // Pass, Choice, Succeed, Fail
  }
}

/** The longest the waits between a retrier's attempts add up to (full jitter only ever shortens them). */
function backoffSeconds(r: Retrier): number {
  let total = 0;
  for (let i = 0; i < (r.MaxAttempts ?? 3); i++) {
    const delay = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** i;
    total += r.MaxDelaySeconds === undefined ? delay : Math.min(delay, r.MaxDelaySeconds);
  }
  return total;
}

function successors(state: StateDefinition): string[] {
  const next = [
    state.Next,
    state.Default,
    ...((state.Choices ?? []) as { Next?: string }[]).map((c) => c.Next),
    ...((state.Catch ?? []) as { Next?: string }[]).map((c) => c.Next),
  ];
  return [...new Set(next.filter((n): n is string => typeof n === 'string'))];
}

/**
 * The longest any execution of `machine` can take, in seconds: the longest path from StartAt to
 * an end, through Catch edges too (so the failure branch after the latest failure is counted).
 * A loop counts its body twice plus its bound (`inputs.loopSeconds` of the state it loops back
 * to): entered before the bound is up, and once more to find that it is. The fargate runner's
 * retries of a stopped task are a loop bounded by a count (countedLoopSeconds). A loop without a
 * bound is an error: its worst case is forever.
 */
export function worstCaseSeconds(machine: StateMachineDefinition, inputs: TimeoutInputs): number {
  const cost = new Map(Object.entries(machine.States).map(([name, state]) => [name, stateSeconds(state, inputs)]));
  // First pass: find the loops (back edges) and what each adds.
  const loopExtra = new Map<string, number>();
  const backEdges = new Set<string>();
  const onPath: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    onPath.push(name);
    for (const next of successors(machine.States[name]!)) {
      const at = onPath.indexOf(next);
      if (at >= 0) {
        const bound = inputs.loopSeconds[next] ?? countedLoopSeconds(next, cost);
        if (bound === undefined)
          throw new Error(`the loop from ${name} back to ${next} has no bound, so no worst case`);
        const body = onPath.slice(at).reduce((sum, s) => sum + cost.get(s)!, 0);
        loopExtra.set(next, Math.max(loopExtra.get(next) ?? 0, bound + body));
        backEdges.add(`${name}→${next}`);
      } else if (!done.has(next)) {
        visit(next);
      }
    }
    onPath.pop();
    done.add(name);
  };
  visit(machine.StartAt);
  // Second pass: the longest path over what is left, which has no cycles.
  const longest = new Map<string, number>();
  const from = (name: string): number => {
    const known = longest.get(name);
    if (known !== undefined) return known;
    const rest = successors(machine.States[name]!).filter((next) => !backEdges.has(`${name}→${next}`));
    const total = cost.get(name)! + (loopExtra.get(name) ?? 0) + Math.max(0, ...rest.map(from));
    longest.set(name, total);
    return total;
  };
  return from(machine.StartAt);
}

/**
 * The bound of the loop that starts a stopped ECS task again (… → WaitToRetryFargateDump<n> →
 * FargateDump), in the terms worstCaseSeconds counts a loop in (its body twice, plus the bound):
 * with R retries the task runs R + 1 times, every attempt to its worst case, and every wait of the
 * table passes once, so the bound is what that adds beyond two attempts and the longest wait.
 */
function countedLoopSeconds(loopsBackTo: string, cost: Map<string, number>): number | undefined {
  if (loopsBackTo !== FARGATE_DUMP_STATE) return undefined;
  const waits = FARGATE_RETRY_WAIT_SECONDS;
  const allWaits = waits.reduce((sum, w) => sum + w, 0);
  return (waits.length - 1) * cost.get(loopsBackTo)! + allWaits - Math.max(...waits);
}
