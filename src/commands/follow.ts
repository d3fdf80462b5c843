/**
 * `stepvault start --wait`: follows an execution to its end, printing each event's lines once. Each poll reads the
 * history newest first (reverseOrder) and stops at the first event already printed, so a poll costs one request for
 * up to 100 new events, however long the history has grown; the pages within a poll follow their nextToken.
 */
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import { type ExecutionEnd, executionEnd, HistoryLines } from './history-lines.ts';

export async function followExecution(
  client: SFNClient,
  executionArn: string,
  out: { write(text: string): unknown },
  pollMs: number,
): Promise<ExecutionEnd> {
  const lines = new HistoryLines();
  let lastSeen = 0;
  for (;;) {
    for (const event of await eventsAfter(client, executionArn, lastSeen)) {
      lastSeen = event.id ?? lastSeen;
      for (const line of lines.describe(event)) out.write(`${line}\n`);
      const end = executionEnd(event);
      if (end) return end;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The events after `lastSeen`, oldest first. */
async function eventsAfter(client: SFNClient, executionArn: string, lastSeen: number): Promise<HistoryEvent[]> {
  const newest: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100, nextToken }),
    );
    for (const event of page.events ?? []) {
      if ((event.id ?? 0) <= lastSeen) return newest.reverse();
      newest.push(event);
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return newest.reverse();
}
