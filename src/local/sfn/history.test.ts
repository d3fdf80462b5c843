import { describe, expect, it } from 'vitest';
import type { StateMachineDefinition } from '../../statemachine/definition.ts';
import type { WorkflowEvent } from '../runner.ts';
import { ExecutionHistory } from './history.ts';

const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:stepvault-local-plan';
const definition: StateMachineDefinition = {
  StartAt: 'Plan',
  States: {
    Plan: { Type: 'Task', Resource: LAMBDA, TimeoutSeconds: 60, Next: 'Run' },
    Run: { Type: 'Task', Resource: 'arn:aws:states:::ecs:runTask.sync', Next: 'Upload' },
    Upload: {
      Type: 'Map',
      ItemsPath: '$.plan.destinations',
      ItemProcessor: { StartAt: 'Put', States: { Put: { Type: 'Task', Resource: LAMBDA, End: true } } },
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

type WithoutTime<T> = T extends unknown ? Omit<T, 'at'> : never;

function historyOf(events: WithoutTime<WorkflowEvent>[]) {
  const history = new ExecutionHistory(definition);
  history.started('{}', 'arn:aws:iam::000000000000:role/r');
  for (const event of events) history.record({ ...event, at: 0 } as WorkflowEvent);
  history.ended('ExecutionSucceeded', { output: '{}' });
  return history.events;
}

describe('the history in the event types AWS emits for the ASL as written', () => {
  const events = historyOf([
    { type: 'state-entered', state: 'Plan', input: { target: 'a' } },
    { type: 'state-failed', state: 'Plan', stateType: 'Task', error: 'ConnectionError', cause: 'refused' },
    { type: 'state-retried', state: 'Plan', attempt: 1 },
    { type: 'state-exited', state: 'Plan', durationMs: 1, output: { plan: {} } },
    { type: 'state-entered', state: 'Run', input: {} },
    { type: 'state-exited', state: 'Run', durationMs: 1, output: {} },
    { type: 'state-entered', state: 'Upload', input: { plan: { destinations: ['x', 'y'] } } },
    { type: 'iteration-started', state: 'Upload', index: 0 },
    { type: 'iteration-started', state: 'Upload', index: 1 },
    { type: 'state-entered', state: 'Put', index: 0, input: 'x' },
    { type: 'state-entered', state: 'Put', index: 1, input: 'y' },
    { type: 'state-exited', state: 'Put', index: 1, durationMs: 1, output: {} },
    { type: 'state-exited', state: 'Put', index: 0, durationMs: 1, output: {} },
    { type: 'iteration-succeeded', state: 'Upload', index: 1 },
    { type: 'iteration-succeeded', state: 'Upload', index: 0 },
    { type: 'state-exited', state: 'Upload', durationMs: 1, output: {} },
    { type: 'state-entered', state: 'Done', input: {} },
    { type: 'state-exited', state: 'Done', durationMs: 0, output: {} },
  ]);

  it('a Lambda Task gives LambdaFunction* events per attempt, a service integration Task* events, a Map MapState*', () => {
    expect(events.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'MapStateEntered',
      'MapStateStarted',
      'MapIterationStarted',
      'MapIterationStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'MapIterationSucceeded',
      'MapIterationSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[2]).toMatchObject({
      lambdaFunctionScheduledEventDetails: { resource: LAMBDA, input: '{"target":"a"}', timeoutInSeconds: 60 },
    });
    expect(events[4]).toMatchObject({
      lambdaFunctionFailedEventDetails: { error: 'ConnectionError', cause: 'refused' },
    });
    expect(events[10]).toMatchObject({ taskScheduledEventDetails: { resourceType: 'ecs', resource: 'runTask.sync' } });
    expect(events[15]).toMatchObject({ mapStateStartedEventDetails: { length: 2 } });
    expect(events[16]).toMatchObject({ mapIterationStartedEventDetails: { name: 'Upload', index: 0 } });
  });

  it('links each event to the one it follows, inside a Map iteration to the iteration', () => {
    const byId = new Map(events.map((e) => [e.id, e]));
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.previousEventId).toBe(0);
    for (const event of events.slice(1)) expect(byId.has(event.previousEventId)).toBe(true);
    // Ids as listed above: the two iterations start from MapStateStarted (16), each item's events follow its own
    // iteration (17 and 18), and the Map goes on from the iteration that ended last (30).
    const links = Object.fromEntries(
      [17, 18, 19, 22, 25, 27, 29, 30, 31, 32].map((id) => [id, byId.get(id)!.previousEventId]),
    );
    expect(links).toEqual({ 17: 16, 18: 16, 19: 17, 22: 18, 25: 24, 27: 21, 29: 26, 30: 28, 31: 30, 32: 31 });
  });
});
