import { describe, expect, it } from 'vitest';
import { localFunctionArn, readDefinition, substitute, taskSubstitutions } from './definition.ts';

describe('the local state machine definition', () => {
  it('maps every Task state, inside a Map too, to the substitution its Resource names', () => {
    const tasks = taskSubstitutions(readDefinition());
    expect(tasks.get('Plan')).toBe('PlanFunctionArn');
    expect(tasks.get('UploadToDestination')).toBe('UploadFunctionArn');
    expect(tasks.get('NotifyFailure')).toBe('NotifyFunctionArn');
    expect(tasks.has('Upload')).toBe(false); // the Map itself is no Task
  });

  it('fills each ${Name} as DefinitionSubstitutions would, and names one left without a value', () => {
    const definition = { StartAt: 'A', States: { A: { Type: 'Task', Resource: '${PlanFunctionArn}', End: true } } };
    expect(substitute(definition, { PlanFunctionArn: 'arn:plan' }).States.A!.Resource).toBe('arn:plan');
    expect(() => substitute(definition, {})).toThrow(
      'no value for substitution ${PlanFunctionArn} in the state machine definition',
    );
  });

  it('gives each step’s function a local ARN named after the step, and refuses a substitution of no step', () => {
    expect(localFunctionArn('CheckRdsBackupFunctionArn')).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:stepvault-local-checkRdsBackup',
    );
    expect(() => localFunctionArn('BackupFunctionArn')).toThrow(
      '${BackupFunctionArn} names no step of src/steps/table.ts',
    );
  });
});
