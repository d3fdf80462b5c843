/**
 * `stepvault start --target NAME [--wait]`: starts the deployed state machine for one target.
 * The execution is named after the target and the minute, so a second start in the same minute
 * is not doubled: Step Functions returns the running execution (same name, same input) or refuses
 * (ExecutionAlreadyExists once it has ended). With --wait it follows the execution state by state
 * (follow.ts) and exits with its outcome (0 succeeded, 1 anything else).
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors.ts';
import { readableCause } from '../text/cause.ts';
import { followExecution } from './follow.ts';
import { sfnClient, stateMachineArn } from './state-machine.ts';

export interface StartOptions {
  target: string;
  wait: boolean;
  stage: string;
  region: string;
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
    region: options.region,
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

  const end = await followExecution(client, executionArn, out, options.pollMs ?? 2000);
  if (end.status === 'SUCCEEDED') {
    out.write(`\nBackup of ${options.target} succeeded.\n`);
    return 0;
  }
  out.write(`\nBackup of ${options.target} ${end.status}: ${end.error ?? ''}: ${readableCause(end.cause ?? '')}\n`);
  return 1;
}
