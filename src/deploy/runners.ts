/**
 * Which runners a config uses, and the state machine cut down to them: a deployment holds only
 * the functions and resources its runners need, and its definition names nothing that is not
 * deployed (Step Functions refuses a definition that calls a function that does not exist).
 *
 * A target's runner says where its dump runs: `lambda` (streamed straight into the first
 * destination, no staging), `efs` (staged on the EFS share, inside the VPC), `fargate` (an ECS
 * task), or `auto`, which Plan turns into fargate or the runner below its line at each run, so it
 * needs both.
 */
import type { Config } from '../config/load.ts';
import { serverWrites } from '../engines/registry.ts';
import type { Runner } from '../runners/types.ts';
import type { StateDefinition, StateMachineDefinition } from '../statemachine/definition.ts';
import { taskSubstitutions } from '../statemachine/definition.ts';
import { STEP_NAMES, substitutionOf, type StepName } from '../steps/table.ts';

/**
 * The runners the config's targets use. `auto` counts as fargate and as the runner it picks below
 * its line (the default rule's: lambda, or efs for a private database), since Plan may pick
 * either at any run.
 */
export function runnersInUse(config: Config): Set<Runner> {
  const runners = new Set<Runner>();
  for (const target of Object.values(config.targets)) {
    if (target.runner === 'auto') {
      runners.add('fargate');
      // The loader sets runnerAuto on every target whose runner is auto: the default rule's runner, the one source.
      runners.add(target.runnerAuto!.below.runner);
    } else runners.add(target.runner);
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
  return pruneChoices(definition, runnerOfRule, runners, 'no runner in use has a branch in the state machine');
}

/** A Choice rule that sends a dump its server is still writing to the polling loop (RDS for SQL Server). */
function serverWritingRule(rule: ChoiceRule): string | undefined {
  return rule.Variable?.endsWith('.kind') && rule.StringEquals === 'server-writing' ? 'server-writing' : undefined;
}

/** Whether a target's server writes its backup into a destination itself (mssql mode: rds). */
export function usesServerWrites(config: Config): boolean {
  return Object.values(config.targets).some((t) => serverWrites(t) !== undefined);
}

/**
 * The definition without the polling loop of backups the server writes (WaitForRdsBackup,
 * CheckRdsBackup), when no target's server writes its own: then CheckRdsBackup is not deployed,
 * nor its network access, secrets, S3 read and KMS grant.
 */
export function pruneServerWrites(definition: StateMachineDefinition, used: boolean): StateMachineDefinition {
  return pruneChoices(
    definition,
    serverWritingRule,
    new Set(used ? ['server-writing'] : []),
    'the choice of a server-written backup has no Default to go to without it',
  );
}

function pruneChoices(
  definition: StateMachineDefinition,
  ruleKey: (rule: ChoiceRule) => string | undefined,
  kept: ReadonlySet<string>,
  noDefault: string,
): StateMachineDefinition {
  const States: Record<string, StateDefinition> = {};
  for (const [name, state] of Object.entries(definition.States))
    States[name] = state.Type === 'Choice' ? pruneChoice(state, ruleKey, kept, noDefault) : state;
  return withoutUnreachable({ ...definition, States });
}

function pruneChoice(
  state: StateDefinition,
  ruleKey: (rule: ChoiceRule) => string | undefined,
  keys: ReadonlySet<string>,
  noDefault: string,
): StateDefinition {
  const rules = (state.Choices ?? []) as ChoiceRule[];
  if (!rules.some((rule) => ruleKey(rule) !== undefined)) return state; // not a choice this pruning is about
  const kept = rules.filter((rule) => {
    const key = ruleKey(rule);
    return key === undefined || keys.has(key);
  });
  if (kept.length > 0) return { ...state, Choices: kept };
  if (typeof state.Default !== 'string') throw new Error(noDefault);
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
