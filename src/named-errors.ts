/**
 * A middy middleware that makes whatever a step throws an error the state machine matches by
 * name (src/errors.ts). Lambda reports `error.name` as the error type, and the ASL's Retry and
 * Catch only know our names: a library's `TypeError`, an SDK's `ThrottlingException` or a thrown
 * string would otherwise skip every Retry and be caught only by `States.ALL`.
 *
 * Our named errors pass unchanged. Anything else is a TransientError, retried a few times by the
 * state machine: a failure nobody classified may pass, and a missed backup costs more than a
 * retry. The original name stays in the message (and the original error is the cause).
 */
import type { MiddlewareObj } from '@middy/core';
import { ERROR_NAMES, TransientError } from './errors.ts';

export function namedErrors(): MiddlewareObj {
  return {
    onError: (request) => {
      request.error = toNamedError(request.error);
    },
  };
}

export function toNamedError(thrown: unknown): Error {
  if (thrown instanceof Error && Object.hasOwn(ERROR_NAMES, thrown.name)) return thrown;
  if (thrown instanceof Error) {
    const label = thrown.name && thrown.name !== 'Error' ? `${thrown.name}: ` : '';
    return new TransientError(`${label}${thrown.message || 'no message'}`, { cause: thrown });
  }
  return new TransientError(`a step threw ${describeValue(thrown)}`, { cause: thrown });
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value === '' ? 'an empty string' : `"${value}"`;
  if (value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
