import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.ts';
import { executionArnOf, executionInputOf, executionNameOf, maxResultsOf, stateMachineArnOf } from './validation.ts';

function refusal(check: () => unknown): { type: string; message: string } {
  try {
    check();
  } catch (error) {
    if (error instanceof ApiError) return { type: error.type, message: error.message };
    throw error;
  }
  throw new Error('accepted');
}

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepvault-local-backup';

describe('the checks on a request, as Step Functions makes them', () => {
  it('accepts ARNs of the right kind and refuses others as InvalidArn', () => {
    expect(stateMachineArnOf(MACHINE)).toBe(MACHINE);
    expect(executionArnOf(`${MACHINE.replace(':stateMachine:', ':execution:')}:run-1`)).toContain(':run-1');
    expect(refusal(() => stateMachineArnOf('not-an-arn'))).toEqual({
      type: 'InvalidArn',
      message: "Invalid Arn: 'Invalid ARN prefix: not-an-arn'",
    });
    expect(refusal(() => executionArnOf(MACHINE))).toEqual({
      type: 'InvalidArn',
      message: "Invalid Arn: 'Resource type not valid in this context: stateMachine'",
    });
    expect(refusal(() => executionArnOf(`${MACHINE.replace(':stateMachine:', ':execution:')}`)).type).toBe(
      'InvalidArn',
    );
  });

  it('refuses names with whitespace, brackets, wildcards, special or control characters as InvalidName', () => {
    expect(executionNameOf('orders-20261205T0300_a.b')).toBe('orders-20261205T0300_a.b');
    for (const name of ['has space', 'a<b', 'a{b', 'a[b', 'a?b', 'a*b', 'a"b', 'a#b', 'a%b', 'a:b', 'a/b', 'a\u0007b'])
      expect(refusal(() => executionNameOf(name))).toEqual({ type: 'InvalidName', message: `Invalid Name: '${name}'` });
    expect(refusal(() => executionNameOf('x'.repeat(81))).type).toBe('ValidationException');
  });

  it('takes input only when it is JSON, and {} when there is none', () => {
    expect(executionInputOf(undefined)).toBe('{}');
    expect(executionInputOf('{"target": "orders"}')).toBe('{"target": "orders"}');
    const refused = refusal(() => executionInputOf('{target: orders}'));
    expect(refused.type).toBe('InvalidExecutionInput');
    expect(refused.message).toMatch(/^Invalid State Machine Execution Input: '.*JSON.*'$/);
  });

  it('reads maxResults 0 or absent as the default page of 100, and refuses more than 1000', () => {
    expect(maxResultsOf(undefined)).toBe(100);
    expect(maxResultsOf(0)).toBe(100);
    expect(maxResultsOf(7)).toBe(7);
    expect(refusal(() => maxResultsOf(1001))).toEqual({
      type: 'ValidationException',
      message:
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
    });
  });
});
