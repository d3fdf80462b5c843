import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readDefinition, type StateMachineDefinition } from '../statemachine/definition.ts';
import { pruneRunners, runnersInUse, stepsCalled } from './runners.ts';

/** A machine shaped like the backup workflow: a choice of runner after Plan, each branch its own dump. */
function machine(): StateMachineDefinition {
  const task = (resource: string, next: string) => ({
    Type: 'Task',
    Resource: resource,
    Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
    Next: next,
  });
  return {
    StartAt: 'Plan',
    States: {
      Plan: task('${PlanFunctionArn}', 'ChooseRunner'),
      ChooseRunner: {
        Type: 'Choice',
        Comment: 'where the dump runs',
        Choices: [
          { Variable: '$.plan.runner', StringEquals: 'efs', Next: 'Dump' },
          { Variable: '$.plan.runner', StringEquals: 'lambda', Next: 'StreamDump' },
          { Variable: '$.plan.runner', StringEquals: 'fargate', Next: 'FargateDump' },
        ],
        Default: 'NoSuchRunner',
      },
      NoSuchRunner: { Type: 'Pass', Next: 'Failed' },
      StreamDump: task('${StreamDumpFunctionArn}', 'Prune'),
      FargateDump: task('arn:aws:states:::ecs:runTask.sync', 'CollectDump'),
      CollectDump: task('${CollectDumpFunctionArn}', 'Prune'),
      Dump: task('${DumpFunctionArn}', 'IsRdsBackup'),
      IsRdsBackup: {
        Type: 'Choice',
        Choices: [{ Variable: '$.dump.kind', StringEquals: 'server-writing', Next: 'CheckRdsBackup' }],
        Default: 'Upload',
      },
      CheckRdsBackup: task('${CheckRdsBackupFunctionArn}', 'Upload'),
      Upload: {
        Type: 'Map',
        ItemProcessor: {
          StartAt: 'UploadToDestination',
          States: {
            UploadToDestination: { Type: 'Task', Resource: '${UploadFunctionArn}', End: true },
            Orphan: { Type: 'Pass', End: true },
          },
        },
        Next: 'Prune',
      },
      Prune: task('${PruneFunctionArn}', 'Done'),
      Done: { Type: 'Succeed' },
      Failed: { Type: 'Fail' },
    },
  };
}

describe('the state machine cut down to the runners in use', () => {
  it('keeps every branch when every runner is in use, and drops only what nothing reaches', () => {
    const pruned = pruneRunners(machine(), new Set(['lambda', 'efs', 'fargate']));
    expect(pruned.States.ChooseRunner).toEqual(machine().States.ChooseRunner);
    expect(Object.keys(pruned.States)).toEqual(Object.keys(machine().States));
    // A Map's own states are pruned too.
    expect(Object.keys(pruned.States.Upload!.ItemProcessor!.States)).toEqual(['UploadToDestination']);
  });

  it('lambda only: the choice keeps the lambda rule and its default, and the other branches are gone', () => {
    const pruned = pruneRunners(machine(), new Set(['lambda']));
    expect(pruned.States.ChooseRunner).toEqual({
      Type: 'Choice',
      Comment: 'where the dump runs',
      Choices: [{ Variable: '$.plan.runner', StringEquals: 'lambda', Next: 'StreamDump' }],
      Default: 'NoSuchRunner',
    });
    expect(Object.keys(pruned.States).sort()).toEqual(
      ['ChooseRunner', 'Done', 'Failed', 'NoSuchRunner', 'Plan', 'Prune', 'StreamDump'].sort(),
    );
    expect(stepsCalled(pruned)).toEqual(['plan', 'streamDump', 'prune']);
  });

  it('efs only: the staged branch, the RDS loop and the upload stay, the streaming and task branches go', () => {
    const pruned = pruneRunners(machine(), new Set(['efs']));
    expect(pruned.States.ChooseRunner!.Choices).toEqual([
      { Variable: '$.plan.runner', StringEquals: 'efs', Next: 'Dump' },
    ]);
    expect(pruned.States).not.toHaveProperty('StreamDump');
    expect(pruned.States).not.toHaveProperty('FargateDump');
    expect(pruned.States).not.toHaveProperty('CollectDump');
    expect(stepsCalled(pruned)).toEqual(['plan', 'dump', 'checkRdsBackup', 'upload', 'prune']);
  });

  it('auto (lambda and fargate): both rules stay, the efs branch goes', () => {
    const pruned = pruneRunners(machine(), new Set(['lambda', 'fargate']));
    expect(pruned.States.ChooseRunner!.Choices).toHaveLength(2);
    expect(Object.keys(pruned.States)).not.toContain('Dump');
    expect(Object.keys(pruned.States)).not.toContain('CheckRdsBackup');
    expect(Object.keys(pruned.States)).toContain('FargateDump');
  });

  it('turns a choice none of whose runners is in use into a Pass to its default', () => {
    const pruned = pruneRunners(machine(), new Set(['none-of-these']));
    expect(pruned.States.ChooseRunner).toEqual({ Type: 'Pass', Comment: 'where the dump runs', Next: 'NoSuchRunner' });
    expect(stepsCalled(pruned)).toEqual(['plan']);
  });

  it('leaves choices that are not about the runner alone', () => {
    const pruned = pruneRunners(machine(), new Set(['efs', 'lambda']));
    expect(pruned.States.IsRdsBackup).toEqual(machine().States.IsRdsBackup);
  });

  it('refuses a set of runners no branch serves, and a transition to a state that does not exist', () => {
    const noDefault = machine();
    delete noDefault.States.ChooseRunner!.Default;
    expect(() => pruneRunners(noDefault, new Set(['none-of-these']))).toThrow(
      'no runner in use has a branch in the state machine',
    );
    const broken = machine();
    broken.States.Prune!.Next = 'Gone';
    expect(() => pruneRunners(broken, new Set(['lambda']))).toThrow(
      'the state machine goes to Gone, which it does not have',
    );
  });

  it('keeps the whole workflow file for every runner in use', () => {
    const definition = readDefinition();
    const all = pruneRunners(definition, new Set(['lambda', 'efs', 'fargate']));
    expect(Object.keys(all.States).sort()).toEqual(Object.keys(definition.States).sort());
  });
});

describe('the runners a config uses', () => {
  const config = (runners: (string | undefined)[], host = 'db.example.com') =>
    parseConfig(
      [
        'destinations: { d: { type: filesystem, path: ./b } }',
        'targets:',
        ...runners.map(
          (runner, i) =>
            `  t${i}: { engine: postgres, host: ${host}, database: d, user: u, destinations: [d]${
              runner ? `, runner: ${runner}` : ''
            } }`,
        ),
      ].join('\n'),
      '/x/stepvault.config.yml',
      '/x',
    );

  it('is the default rule’s for a target that names none: lambda for a public host with no deploy.vpc', () => {
    expect([...runnersInUse(config([undefined]))]).toEqual(['lambda']);
  });

  it('is each runner the targets name, once', () => {
    expect([...runnersInUse(config(['efs', 'lambda', 'efs'], '10.0.3.17'))].sort()).toEqual(['efs', 'lambda']);
  });

  it('counts auto as fargate and the runner below its line: lambda for a public host, efs for a private one', () => {
    expect([...runnersInUse(config(['auto']))].sort()).toEqual(['fargate', 'lambda']);
    expect([...runnersInUse(config(['auto'], '10.0.3.17'))].sort()).toEqual(['efs', 'fargate']);
  });
});
