/**
 * nextToken paging as Step Functions does it: an opaque token that carries on where the last page stopped, bound to
 * the request it came from (another execution or filter is InvalidToken). Positions only grow as items are added (an
 * event id, an execution's sequence number), so a token stays good while a running execution adds events or new
 * executions start: no item is served twice and none is skipped.
 */
import { ApiError } from './api-error.ts';

export interface PageRequest {
  /** What the token is good for: the execution, the state machine and its filter. */
  scope: string;
  maxResults: number;
  nextToken?: unknown;
  /** Highest position first (newest executions, reverseOrder history). */
  descending: boolean;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** `items` in ascending position order. */
export function page<T>(items: readonly T[], position: (item: T) => number, request: PageRequest): Page<T> {
  const from = request.nextToken === undefined || request.nextToken === null ? undefined : decode(request);
  const ordered = request.descending ? [...items].reverse() : items;
  const rest = ordered.filter(
    (item) => from === undefined || (request.descending ? position(item) <= from : position(item) >= from),
  );
  const served = rest.slice(0, request.maxResults);
  const next = rest[request.maxResults];
  return { items: served, ...(next !== undefined && { nextToken: encode(request.scope, position(next)) }) };
}

function encode(scope: string, from: number): string {
  return Buffer.from(JSON.stringify({ scope, from })).toString('base64url');
}

function decode(request: PageRequest): number {
  const token = String(request.nextToken);
  try {
    const { scope, from } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      scope?: unknown;
      from?: unknown;
    };
    if (scope === request.scope && typeof from === 'number') return from;
  } catch {
    // Not one of ours: the same answer as a token for another request.
  }
  throw new ApiError('InvalidToken', `Invalid Token: '${token}'`);
}
