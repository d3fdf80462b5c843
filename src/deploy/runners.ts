/**
 * Which runners a config uses, and the state machine cut down to them: a deployment holds only
 * the functions and resources its runners need, and its definition names nothing that is not
 * deployed (Step Functions refuses a definition that calls a function that does not exist).
 *
 * A target's runner says where its dump runs: `lambda` (streamed straight into the first
 * destination, no staging), `efs` (staged on the EFS share, inside the VPC), `fargate` (an ECS
 * task), or `auto`, which Plan turns into lambda or fargate at each run, so it needs both.
 */
import type { Config } from '../config/load.ts';
import type { StateDefinition, StateMachineDefinition } from '../statemachine/definition.ts';
import { taskSubstitutions } from '../statemachine/definition.ts';
import { STEP_NAMES, substitutionOf, type StepName } from '../steps/table.ts';

/** The runners a deployment can hold; `auto` is not one of them: it is lambda and fargate. */
export const DEPLOYED_RUNNERS = ['lambda', 'efs', 'fargate'] as const;
export type DeployedRunner = (typeof DEPLOYED_RUNNERS)[number];

/** A target's runner when its config names none: today's shape, staged on EFS. */
export const DEFAULT_RUNNER = 'efs';

/** The runner each target asks for, as the config says it. */
export function runnerOf(target: Config['targets'][string]): string {
  return (target as { runner?: string }).runner ?? DEFAULT_RUNNER;
}

/** The runners the config's targets use, with `auto` counted as both of the runners it picks from. */
export function runnersInUse(config: Config): Set<DeployedRunner> {
  const runners = new Set<DeployedRunner>();
  for (const target of Object.values(config.targets)) {
    const runner = runnerOf(target);
    if (runner === 'auto') {
      runners.add('lambda');
      runners.add('fargate');
    } else runners.add(runner as DeployedRunner);
  }
  return runners;
}

interface ChoiceRule {
  Variable?: string;
  StringEquals?: string;
  Next?: string;
}

/** A Choice rule that picks a branch by the run's runner (`"Variable": "$.plan.runner", "StringEquals": "lambda"`). */
function runnerOfRule(rule: ChoiceRule): string | undefined {
  return rule.Variable?.endsWith('.runner') && typeof rule.StringEquals === 'string' ? rule.StringEquals : undefined;
}

/**
 * The definition with only the branches of `runners`: each Choice rule that tests the runner
 * against one not in use is removed (the Choice's Default stays: it is where a runner the
 * deployment has no branch for goes, such as a target moved to another runner and not deployed
 * since). A Choice left with no rule is a Pass to its Default. Then every state nothing reaches
 * any more is dropped, at every depth.
 */
export function pruneRunners(definition: StateMachineDefinition, runners: ReadonlySet<string>): StateMachineDefinition {
  const States: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States))
    States[name] = state.Type === 'Choice' ? pruneChoice(state, runners) : state;
  return withoutUnreachable({ ...definition, States });
}

function pruneChoice(state: StateDefinition, runners: ReadonlySet<string>): StateDefinition {
  const rules = (state.Choices ?? []) as ChoiceRule[];
  if (!rules.some((rule) => runnerOfRule(rule) !== undefined)) return state; // not a choice of runner
  const kept = rules.filter((rule) => {
    const runner = runnerOfRule(rule);
    return runner === undefined || runners.has(runner);
  });
  if (kept.length > 0) return { ...state, Choices: kept };
  if (typeof state.Default !== 'string') throw new Error('no runner in use has a branch in the state machine');
  const paths = Object.entries(state).filter(([key]) => ['Comment', 'InputPath', 'OutputPath'].includes(key));
  return { ...Object.fromEntries(paths), Type: 'Pass', Next: state.Default };
}

/** Every state a transition names: Next, Default, the Choice rules' and the Catchers' Next. */
function successors(state: StateDefinition): string[] {
  const next = [
    state.Next,
    state.Default,
    ...((state.Choices ?? []) as { Next?: string }[]).map((c) => c.Next),
    ...((state.Catch ?? []) as { Next?: string }[]).map((c) => c.Next),
  ];
  return [...new Set(next.filter((n): n is string => typeof n === 'string'))];
}

function withoutUnreachable(machine: StateMachineDefinition): StateMachineDefinition {
  const reached = new Set<string>();
  const visit = (name: string): void => {
    if (reached.has(name)) return;
    const state = machine.States[name];
    if (!state) throw new Error(`the state machine goes to ${name}, which it does not have`);
    reached.add(name);
    successors(state).forEach(visit);
  };
  visit(machine.StartAt);
  const States = Object.fromEntries(
    Object.entries(machine.States)
      .filter(([name]) => reached.has(name))
      .map(([name, state]) => {
        const nested: StateDefinition = { ...state };
        if (state.ItemProcessor) nested.ItemProcessor = withoutUnreachable(state.ItemProcessor);
        if (state.Iterator) nested.Iterator = withoutUnreachable(state.Iterator);
        if (state.Branches) nested.Branches = state.Branches.map(withoutUnreachable);
        return [name, nested];
      }),
  );
  return { ...machine, States };
}

/** The steps a definition calls, in the table's order: the functions a deployment of it needs. */
export function stepsCalled(definition: StateMachineDefinition): StepName[] {
  const substitutions = new Set(taskSubstitutions(definition).values());
  return STEP_NAMES.filter((step) => substitutions.has(substitutionOf(step)));
}
