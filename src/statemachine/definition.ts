/**
 * The state machine definition, statemachine/backup.asl.json, as the deployment and the local
 * runner read it; for a local run, each `${...FunctionArn}` substitution replaced by a local ARN,
 * and a map from every Task state to the substitution it calls — the same mapping serverless.yml
 * makes with real ARNs.
 */
import { stepOfSubstitution } from '../steps/table.ts';
// Imported, not read from disk: a bundle (a Lambda function, the task image) carries it inside,
// where no statemachine/ folder sits beside it.
import backupDefinition from '../../statemachine/backup.asl.json' with { type: 'json' };

const SUBSTITUTION = /^\$\{([A-Za-z0-9]+)\}$/;

export interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, StateDefinition>;
  [key: string]: unknown;
}

export interface StateDefinition {
  Type: string;
  Resource?: string;
  ItemProcessor?: StateMachineDefinition;
  Iterator?: StateMachineDefinition;
  Branches?: StateMachineDefinition[];
  [key: string]: unknown;
}

/** statemachine/backup.asl.json, a fresh copy each time (callers change theirs). */
export function readDefinition(): StateMachineDefinition {
  return structuredClone(backupDefinition) as unknown as StateMachineDefinition;
}

/** Task state name → the substitution its Resource names, at every depth (Map, Parallel). */
export function taskSubstitutions(definition: StateMachineDefinition): Map<string, string> {
  const found = new Map<string, string>();
  const visit = (machine: StateMachineDefinition) => {
    for (const [name, state] of Object.entries(machine.States)) {
      const substitution = state.Resource ? SUBSTITUTION.exec(state.Resource)?.[1] : undefined;
      if (state.Type === 'Task' && substitution) found.set(name, substitution);
      const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(
        (m): m is StateMachineDefinition => m !== undefined,
      );
      nested.forEach(visit);
    }
  };
  visit(definition);
  return found;
}

/** Fills `${Name}` placeholders as CloudFormation's DefinitionSubstitutions would. */
export function substitute(definition: StateMachineDefinition, values: Record<string, string>): StateMachineDefinition {
  const text = JSON.stringify(definition).replace(/\$\{([A-Za-z0-9]+)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for substitution \${${name}} in the state machine definition`);
    return value;
  });
  return JSON.parse(text) as StateMachineDefinition;
}

/** The ARN a substitution stands for in a local run: `stepvault-local-<step>`, as a deployment names its functions. */
export function localFunctionArn(substitution: string): string {
  const step = stepOfSubstitution(substitution);
  if (!step) throw new Error(`\${${substitution}} names no step of src/steps/table.ts`);
  return `arn:aws:lambda:us-east-1:000000000000:function:stepvault-local-${step}`;
}
