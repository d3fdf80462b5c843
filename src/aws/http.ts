/**
 * Time limits for the AWS SDK's HTTP requests. Without them an endpoint that accepts a
 * connection and never answers holds a step until its Lambda (or a local run) is killed: the
 * SDK's defaults wait forever, and its `requestTimeout` alone only logs a warning unless
 * `throwOnRequestTimeout` is set.
 *
 * Every client passes `requestHandler: awsRequestHandler(...)`. Calls whose whole duration is
 * small (send a mail, put an event, start an execution) bound the whole request; transfers of
 * unbounded size bound the connection and the silence on the socket instead (`idleMs`).
 */
import type { NodeHttpHandlerOptions } from '@smithy/types';

export interface AwsTimeouts {
  /** Give up when the TCP (and TLS) connection is not made within this. */
  connectMs: number;
  /** Give up when a whole request, answer included, takes longer than this. */
  requestMs?: number;
  /** Give up when the socket has been silent this long (for transfers of any length). */
  idleMs?: number;
}

/** Short API calls: a mail, an event, a Step Functions call. */
export const API_CALL: AwsTimeouts = { connectMs: 3_000, requestMs: 8_000 };

export function awsRequestHandler(timeouts: AwsTimeouts): NodeHttpHandlerOptions {
  return {
    connectionTimeout: timeouts.connectMs,
    ...(timeouts.requestMs !== undefined && { requestTimeout: timeouts.requestMs, throwOnRequestTimeout: true }),
    ...(timeouts.idleMs !== undefined && { socketTimeout: timeouts.idleMs }),
  };
}

/** An SDK error as a person reads it: its name and message, without the HTTP handler's package prefix. */
export function awsErrorDetail(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${(e.message ?? String(error)).replace(/^@smithy\/node-http-handler - \[ERROR\] /, '')}`;
}

const UNREACHABLE = new Set(['TimeoutError', 'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE']);

/** True when the error says the service was not reached or did not answer (as opposed to a refusal it sent). */
export function isUnreachable(error: unknown): boolean {
  const e = error as { name?: string; code?: string };
  return UNREACHABLE.has(e.name ?? '') || UNREACHABLE.has(e.code ?? '');
}
