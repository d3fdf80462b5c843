/**
 * Outcome events on an EventBridge bus, for other systems to react to:
 * `stepvault.backup.succeeded` and `stepvault.backup.failed`, source `stepvault` (configurable).
 * The client's endpoint follows AWS_ENDPOINT_URL_EVENTBRIDGE.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { API_CALL, awsRequestHandler } from '../aws/http.ts';
import type { ExecutionInfo, Outcome, RunState } from '../contracts.ts';
import { readableCause } from '../text/cause.ts';

export interface EventsSettings {
  bus: string;
  source: string;
}

const clients = new Map<string, EventBridgeClient>();

function clientFor(): EventBridgeClient {
  // The endpoint comes from the environment when the client is made; keep one per endpoint.
  const key = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? process.env.AWS_ENDPOINT_URL ?? '';
  let client = clients.get(key);
  if (!client) {
    // Two attempts of at most API_CALL each keep a silent endpoint well inside Notify's own timeout.
    client = new EventBridgeClient({ maxAttempts: 2, requestHandler: awsRequestHandler(API_CALL) });
    clients.set(key, client);
  }
  return client;
}

export function outcomeEvent(
  outcome: Outcome,
  run: RunState,
  execution: ExecutionInfo,
): { detailType: string; detail: Record<string, unknown> } {
  const target = run.plan?.target ?? run.target ?? 'unknown';
  const common = {
    target,
    runId: run.plan?.runId,
    executionArn: execution.id,
    engine: run.plan?.engine,
    database: run.plan?.database,
    startedAt: run.plan?.startedAt ?? execution.startTime,
  };
  if (outcome === 'success') {
    return {
      detailType: 'stepvault.backup.succeeded',
      detail: {
        ...common,
        size: run.dump?.size,
        sha256: run.dump?.sha256,
        destinations: (run.upload ?? []).map((o) =>
          o.status === 'stored'
            ? { name: o.destination, status: 'stored', location: o.location, key: o.key }
            : { name: o.destination, status: 'failed', error: o.error },
        ),
        retention: run.prune?.destinations ?? null,
      },
    };
  }
  const failure = run.failure;
  return {
    detailType: 'stepvault.backup.failed',
    detail: {
      ...common,
      state: failure?.state,
      error: failure?.error,
      cause: failure ? readableCause(failure.cause) : undefined,
    },
  };
}

export async function publishOutcomeEvent(
  settings: EventsSettings,
  outcome: Outcome,
  run: RunState,
  execution: ExecutionInfo,
): Promise<string> {
  const client = clientFor();
  const { detailType, detail } = outcomeEvent(outcome, run, execution);
  const result = await client.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: settings.bus,
          Source: settings.source,
          DetailType: detailType,
          Detail: JSON.stringify(detail),
          Resources: [execution.id],
        },
      ],
    }),
  );
  const entry = result.Entries?.[0];
  if ((result.FailedEntryCount ?? 0) > 0 || !entry?.EventId)
    throw new Error(`EventBridge refused the event: ${entry?.ErrorCode ?? '?'} ${entry?.ErrorMessage ?? ''}`);
  return entry.EventId;
}
