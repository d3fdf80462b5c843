import { describe, expect, it } from 'vitest';
import { readableCause } from '../text/cause.ts';
import { describeStoppedTask, exitCodeMeaning, stoppedTaskOf } from './stopped-task.ts';

/**
 * The cause Step Functions gives a `runTask.sync` Task whose ECS task stopped without success: the
 * task's description with PascalCase keys, as DescribeTasks returns it (trimmed of what is not read).
 */
const cause = (container: Record<string, unknown>, stop: Record<string, unknown> = {}) =>
  JSON.stringify({
    Attachments: [{ Id: 'a1', Status: 'DELETED', Type: 'ElasticNetworkInterface' }],
    AvailabilityZone: 'eu-west-1a',
    ClusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/stepvault-prod',
    Containers: [
      {
        ContainerArn: 'arn:aws:ecs:eu-west-1:123456789012:container/stepvault-prod/0f1e2d/9a8b',
        Image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/stepvault:1.4.0',
        LastStatus: 'STOPPED',
        Name: 'stepvault',
        TaskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/stepvault-prod/0f1e2d3c4b5a',
        ...container,
      },
    ],
    Cpu: '1024',
    DesiredStatus: 'STOPPED',
    LastStatus: 'STOPPED',
    LaunchType: 'FARGATE',
    Memory: '2048',
    StopCode: 'EssentialContainerExited',
    StoppedAt: 1764900000000,
    StoppedReason: 'Essential container in task exited',
    TaskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/stepvault-prod/0f1e2d3c4b5a',
    TaskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/stepvault-prod-dump:3',
    ...stop,
  });

const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/stepvault-prod/0f1e2d3c4b5a';

describe('the cause of a stopped ECS task', () => {
  it('names the error the exit code stands for, and the task’s log stream', () => {
    expect(readableCause(cause({ ExitCode: 11 }))).toBe(
      `the stepvault container of task ${TASK} exited with code 11 (ConnectionError); ECS: EssentialContainerExited: Essential container in task exited; the task's log: stream dump/stepvault/0f1e2d3c4b5a`,
    );
  });

  it('says what a signal’s exit code means and keeps ECS’s own reason (out of memory)', () => {
    expect(
      readableCause(cause({ ExitCode: 137, Reason: 'OutOfMemoryError: Container killed due to memory usage' })),
    ).toBe(
      `the stepvault container of task ${TASK} exited with code 137 (killed (SIGKILL: out of memory, or not stopped within its stop timeout)); OutOfMemoryError: Container killed due to memory usage; ECS: EssentialContainerExited: Essential container in task exited; the task's log: stream dump/stepvault/0f1e2d3c4b5a`,
    );
  });

  it('says a task that never started has no exit code, with ECS’s reason', () => {
    const text = readableCause(
      cause(
        { Reason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)' },
        { StopCode: 'TaskFailedToStart', StoppedReason: 'CannotPullContainerError: pull image manifest' },
      ),
    );
    expect(text).toMatch(new RegExp(`^the stepvault container of task ${TASK} stopped without an exit code; `));
    expect(text).toContain('ECS: TaskFailedToStart: CannotPullContainerError: pull image manifest');
  });

  it('is told from a Lambda error’s cause, which keeps its own reading', () => {
    expect(stoppedTaskOf(JSON.stringify({ errorType: 'DumpError', errorMessage: 'x' }))).toBeUndefined();
    expect(stoppedTaskOf('not json')).toBeUndefined();
    expect(stoppedTaskOf(cause({ ExitCode: 14 }))?.Containers?.[0]?.ExitCode).toBe(14);
  });

  it('maps every exit code of the entrypoint back to its error, and leaves unknown codes unnamed', () => {
    expect(exitCodeMeaning(10)).toBe('ConfigError');
    expect(exitCodeMeaning(14)).toBe('DumpError');
    expect(exitCodeMeaning(143)).toBe('stopped (SIGTERM)');
    expect(exitCodeMeaning(42)).toBeUndefined();
    expect(describeStoppedTask({ TaskArn: 'arn:x', Containers: [{ Name: 'stepvault', ExitCode: 42 }] })).toBe(
      `the stepvault container of task arn:x exited with code 42; the task's log: stream dump/stepvault/arn:x`,
    );
  });
});
