/** `stepvault status [--target NAME]`: the recent executions, newest first. */
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { formatSeconds } from '../text/format.ts';
import { sfnClient, stateMachineArn } from './state-machine.ts';

export async function status(
  options: { target?: string; stage: string; region?: string; stateMachine?: string; limit?: number },
  out: { write(text: string): unknown },
): Promise<number> {
  const client = sfnClient(options.region);
  const arn = await stateMachineArn({
    ...(options.stateMachine && { flag: options.stateMachine }),
    stage: options.stage,
    ...(options.region && { region: options.region }),
  });
  const { executions = [] } = await client.send(
    new ListExecutionsCommand({ stateMachineArn: arn, maxResults: options.limit ?? 20 }),
  );
  const rows: string[][] = [];
  for (const e of executions) {
    // Scheduled executions have generated names: the target is in the input.
    const described = await client.send(new DescribeExecutionCommand({ executionArn: e.executionArn! }));
    const target = (JSON.parse(described.input ?? '{}') as { target?: string }).target ?? '?';
    if (options.target && target !== options.target) continue;
    const started = e.startDate ? new Date(e.startDate) : undefined;
    const stopped = e.stopDate ? new Date(e.stopDate) : undefined;
    rows.push([
      e.status ?? '?',
      target,
      started?.toISOString().replace(/\.\d{3}Z$/, 'Z') ?? '?',
      started && stopped ? formatSeconds((stopped.getTime() - started.getTime()) / 1000) : 'running',
      e.name ?? '',
    ]);
  }
  if (rows.length === 0) {
    out.write(`no executions${options.target ? ` of ${options.target}` : ''} yet\n`);
    return 0;
  }
  const header = ['STATUS', 'TARGET', 'STARTED', 'DURATION', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    out.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}
