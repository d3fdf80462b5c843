/**
 * What cannot be derived from the table of steps is checked against it: the handler files, the
 * step files, the state machine's Task states, and serverless's naming of the functions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploySchema } from '../config/schema.ts';
import { placementOf } from '../deploy/placement.ts';
import { lambdaLogicalId } from '../deploy/resources.ts';
import { readDefinition, taskSubstitutions } from '../statemachine/definition.ts';
import { handlerFile, pascalName, STEP_NAMES, STEPS, stepOfSubstitution, substitutionOf } from './table.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('the table of steps', () => {
  it('has one handler in functions/ per step, named after it, and no other', () => {
    const handlers = readdirSync(path.join(root, 'functions')).filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts'),
    );
    expect(handlers.map((f) => `functions/${f}`).sort()).toEqual(STEP_NAMES.map(handlerFile).sort());
  });

  it('has the domain of each step in src/steps/<name>.ts', () => {
    for (const name of STEP_NAMES) expect(existsSync(path.join(root, 'src/steps', `${name}.ts`)), name).toBe(true);
  });

  it('is what the state machine calls: every step has a Task, every Task a step, named after it', () => {
    const tasks = taskSubstitutions(readDefinition());
    expect([...new Set(tasks.values())].sort()).toEqual(STEP_NAMES.map(substitutionOf).sort());
    for (const [state, substitution] of tasks) {
      // Plan, CheckRdsBackup; NotifySuccess and NotifyFailure; UploadToDestination.
      expect(
        state.startsWith(pascalName(stepOfSubstitution(substitution)!)),
        `${state} calls \${${substitution}}`,
      ).toBe(true);
    }
  });

  it('names each function the way serverless names its resource', () => {
    const naming = createRequire(import.meta.url)('osls/lib/plugins/aws/lib/naming.js') as {
      getLambdaLogicalId(name: string): string;
    };
    for (const name of STEP_NAMES) expect(lambdaLogicalId(name)).toBe(naming.getLambdaLogicalId(name));
  });

  it('puts every step that touches the staging share inside the VPC when the share is deployed, where EFS is reached', () => {
    for (const name of STEP_NAMES) {
      const placement = placementOf(name, { staging: true, vpc: false });
      expect(placement.vpc, name).toBe(Boolean(STEPS[name].staging));
      expect(placementOf(name, { staging: false, vpc: false }), name).toEqual({ staging: false, vpc: false });
    }
  });

  it('is the list of steps the README gives for deploy.functions.<step>', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const sentence =
      /The\s+steps, whose memory and timeout `deploy\.functions\.<step>` may change, are: ([^.]+)\./.exec(readme);
    expect(sentence, 'README names the steps deploy.functions takes').not.toBeNull();
    expect([...sentence![1]!.matchAll(/`(\w+)`/g)].map((m) => m[1])).toEqual([...STEP_NAMES]);
  });

  it("has defaults a config could also write: within what deploy.functions accepts (Lambda's own limits)", () => {
    const functions = Object.fromEntries(
      STEP_NAMES.map((name) => [name, { memorySize: STEPS[name].memorySize, timeout: STEPS[name].timeout }]),
    );
    expect(deploySchema.safeParse({ region: 'eu-west-1', functions }).error?.issues ?? []).toEqual([]);
  });

  it('gives no step a name that is not a plain camelCase word (it becomes file, function and resource names)', () => {
    for (const name of STEP_NAMES) expect(name).toMatch(/^[a-z][A-Za-z0-9]*$/);
  });
});
