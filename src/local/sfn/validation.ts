/**
 * The checks Step Functions makes on a request before it acts, with the error names and messages its API reference
 * gives: a malformed ARN is InvalidArn, a bad execution name InvalidName, input that is not JSON
 * InvalidExecutionInput, a value out of range a ValidationException.
 */
import { ApiError } from './api-error.ts';

const STATES_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:([A-Za-z]+):(.+)$/;

/** Whitespace, brackets, wildcards, the special characters and control characters AWS forbids in a name. */
const FORBIDDEN_IN_NAME = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

export const EXECUTION_STATUSES = [
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'TIMED_OUT',
  'ABORTED',
  'PENDING_REDRIVE',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

function required(value: unknown, field: string): string {
  if (value === undefined || value === null)
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  if (typeof value !== 'string') throw new ApiError('SerializationException', `${field} must be a string`);
  return value;
}

function arnOf(value: unknown, field: string, resource: 'stateMachine' | 'execution'): string {
  const arn = required(value, field);
  const match = STATES_ARN.exec(arn);
  if (!match) throw new ApiError('InvalidArn', `Invalid Arn: 'Invalid ARN prefix: ${arn}'`);
  if (match[1] !== resource)
    throw new ApiError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${match[1]}'`);
  const parts = match[2]!.split(':');
  // A state machine ARN has a name (and maybe a version or alias); an execution ARN a machine and an execution name.
  if (parts.some((part) => part === '') || (resource === 'execution' ? parts.length !== 2 : parts.length > 2))
    throw new ApiError('InvalidArn', `Invalid Arn: 'Invalid ${resource} ARN: ${arn}'`);
  return arn;
}

export const stateMachineArnOf = (value: unknown, field = 'stateMachineArn') => arnOf(value, field, 'stateMachine');
export const executionArnOf = (value: unknown, field = 'executionArn') => arnOf(value, field, 'execution');

export function executionNameOf(value: unknown): string {
  const name = required(value, 'name');
  if (name.length < 1 || name.length > 80)
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length between 1 and 80`,
    );
  if (FORBIDDEN_IN_NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
  return name;
}

/** The input as given (it is kept and echoed byte for byte), once it is known to be JSON. */
export function executionInputOf(value: unknown): string {
  if (value === undefined || value === null) return '{}';
  const input = required(value, 'input');
  try {
    JSON.parse(input);
  } catch (error) {
    throw new ApiError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(error as Error).message}'`);
  }
  return input;
}

/** maxResults: 0 or absent means the default page of 100; at most 1000. */
export function maxResultsOf(value: unknown): number {
  if (value === undefined || value === null || value === 0) return 100;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000)
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
    );
  return value;
}

export function statusFilterOf(value: unknown): ExecutionStatus | undefined {
  if (value === undefined || value === null) return undefined;
  if (!EXECUTION_STATUSES.includes(value as ExecutionStatus))
    throw new ApiError(
      'ValidationException',
      `1 validation error detected: Value '${String(value)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${EXECUTION_STATUSES.join(', ')}]`,
    );
  return value as ExecutionStatus;
}
