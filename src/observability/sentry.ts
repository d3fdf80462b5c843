/**
 * Failures reported to Sentry, through its envelope endpoint (one HTTP POST per failed run; the
 * SDK and its instrumentation are not needed for that). The DSN says where:
 * `https://<public key>@<host>/<project id>`.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors.ts';

export interface SentryEvent {
  message: string;
  errorType: string;
  errorValue: string;
  tags: Record<string, string>;
  extra: Record<string, unknown>;
  environment?: string;
}

export function envelopeUrl(dsn: string): { url: string; publicKey: string } {
  let parsed: URL;
  try {
    parsed = new URL(dsn);
  } catch {
    throw new ConfigError('observability.sentry.dsn is not a Sentry DSN (https://<key>@<host>/<project>)');
  }
  const projectId = parsed.pathname.split('/').filter(Boolean).pop();
  if (!parsed.username || !projectId)
    throw new ConfigError('observability.sentry.dsn is not a Sentry DSN (https://<key>@<host>/<project>)');
  const prefix = parsed.pathname.slice(0, parsed.pathname.lastIndexOf(`/${projectId}`));
  return { url: `${parsed.protocol}//${parsed.host}${prefix}/api/${projectId}/envelope/`, publicKey: parsed.username };
}

/** The whole report, connection included; a Sentry that does not answer must not hold Notify. */
export const SENTRY_TIMEOUT_MS = 10_000;

export async function sendToSentry(dsn: string, event: SentryEvent, release: string): Promise<string> {
  const { url, publicKey } = envelopeUrl(dsn);
  const eventId = randomUUID().replace(/-/g, '');
  const body = {
    event_id: eventId,
    timestamp: Date.now() / 1000,
    platform: 'node',
    level: 'error',
    logger: 'stepvault',
    release,
    ...(event.environment && { environment: event.environment }),
    message: { formatted: event.message },
    exception: { values: [{ type: event.errorType, value: event.errorValue }] },
    tags: event.tags,
    extra: event.extra,
  };
  const envelope = [
    JSON.stringify({ event_id: eventId, sent_at: new Date().toISOString() }),
    JSON.stringify({ type: 'event' }),
    JSON.stringify(body),
  ].join('\n');
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-sentry-envelope',
      'X-Sentry-Auth': `Sentry sentry_version=7, sentry_key=${publicKey}, sentry_client=stepvault/${release}`,
    },
    body: envelope,
    signal: AbortSignal.timeout(SENTRY_TIMEOUT_MS),
  }).catch((error: Error) => {
    throw new Error(
      error.name === 'TimeoutError'
        ? `Sentry at ${new URL(url).host} did not answer within ${SENTRY_TIMEOUT_MS / 1000} s`
        : `Sentry at ${new URL(url).host} unreachable: ${error.message}`,
      { cause: error },
    );
  });
  if (!response.ok) throw new Error(`Sentry answered ${response.status} ${response.statusText}`);
  return eventId;
}
