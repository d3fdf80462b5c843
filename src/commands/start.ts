/**
 * `stepvault start --target NAME [--wait]`: starts the deployed state machine for one target.
 * The execution is named after the target and the minute, so a second start in the same minute
 * is refused by Step Functions rather than doubled. With --wait it follows the execution state by
 * state and exits with its outcome (0 succeeded, 1 anything else).
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors.ts';
import { readableCause } from '../text/cause.ts';
import { sfnClient, stateMachineArn } from './state-machine.ts';

export interface StartOptions {
  target: string;
  wait: boolean;
  stage: string;
  region?: string;
  stateMachine?: string;
  name?: string;
  pollMs?: number;
  now?: () => Date;
}

/** `orders-20261122T0305`: one execution per target and minute. */
export function executionName(target: string, at: Date): string {
  return `${target}-${at.toISOString().slice(0, 16).replace(/[-:]/g, '')}`;
}

export async function start(options: StartOptions, out: { write(text: string): unknown }): Promise<number> {
  const client = sfnClient(options.region);
  const arn = await stateMachineArn({
    ...(options.stateMachine && { flag: options.stateMachine }),
    stage: options.stage,
    ...(options.region && { region: options.region }),
  });
  const name = options.name ?? executionName(options.target, (options.now ?? (() => new Date()))());
  let executionArn: string;
  try {
    const started = await client.send(
      new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify({ target: options.target }) }),
    );
    executionArn = started.executionArn!;
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') {
      throw new ConfigError(
        `an execution named ${name} already exists: a second start of ${options.target} in the same minute is refused, not doubled; wait a minute, or pass another --name to start one on purpose`,
      );
    }
    throw error;
  }
  out.write(`started ${executionArn}\n`);
  if (!options.wait) return 0;

  let nextToken: string | undefined;
  const entered = new Map<string, number>();
  for (;;) {
    do {
      const page = await client.send(
        new GetExecutionHistoryCommand({ executionArn, ...(nextToken && { nextToken }), maxResults: 100 }),
      );
      for (const event of page.events ?? []) describe(event, entered, out);
      nextToken = page.nextToken;
    } while (nextToken);
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      if (execution.status === 'SUCCEEDED') {
        out.write(`\nBackup of ${options.target} succeeded.\n`);
        return 0;
      }
      out.write(
        `\nBackup of ${options.target} ${execution.status}: ${execution.error ?? ''}: ${readableCause(execution.cause ?? '')}\n`,
      );
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
  }
}

function describe(event: HistoryEvent, entered: Map<string, number>, out: { write(text: string): unknown }): void {
  const at = event.timestamp ? new Date(event.timestamp).getTime() : Date.now();
  if (event.stateEnteredEventDetails?.name) {
    entered.set(event.stateEnteredEventDetails.name, at);
    out.write(`→ ${event.stateEnteredEventDetails.name}\n`);
  } else if (event.stateExitedEventDetails?.name) {
    const name = event.stateExitedEventDetails.name;
    const seconds = (at - (entered.get(name) ?? at)) / 1000;
    out.write(`✓ ${name.padEnd(22)} ${seconds.toFixed(2)}s\n`);
  } else if (event.taskFailedEventDetails) {
    out.write(
      `  failed: ${event.taskFailedEventDetails.error}: ${readableCause(event.taskFailedEventDetails.cause ?? '')}\n`,
    );
  }
}
