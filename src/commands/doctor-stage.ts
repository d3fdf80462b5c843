/**
 * `stepvault doctor --stage STAGE`: doctor's checks made inside the deployment, where the dumps
 * run, since what fails there (the route from the VPC to the database, an endpoint the VPC lacks)
 * cannot be seen from a laptop. Starts an execution with `{"target": …, "doctor": true}`, which
 * the state machine routes to its Doctor state (no dump, no upload, no mail), waits for it, and
 * prints its report as the local doctor prints its own.
 */
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { compactTimestamp } from '../backups/naming.ts';
import type { DoctorReport, DoctorRequest } from '../contracts.ts';
import { formatJson, formatText } from '../doctor/report.ts';
import { ConfigError } from '../errors.ts';
import { readableCause } from '../text/cause.ts';
import { sfnClient, stateMachineArn } from './state-machine.ts';

/** The state a doctor execution runs (statemachine/backup.asl.json). */
export const DOCTOR_STATE = 'Doctor';

export interface StageDoctorOptions {
  target: string;
  stage: string;
  region: string;
  stateMachine?: string;
  json: boolean;
  pollMs?: number;
}

export async function doctorOnStage(
  options: StageDoctorOptions,
  out: { write(text: string): unknown },
): Promise<number> {
  const client = sfnClient(options.region);
  const arn = await stateMachineArn({
    ...(options.stateMachine && { flag: options.stateMachine }),
    stage: options.stage,
    region: options.region,
  });
  await requireDoctorState(client, arn, options.stage);
  const request: DoctorRequest = { target: options.target, doctor: true };
  const name = `${options.target}-doctor-${compactTimestamp(new Date())}-${randomBytes(3).toString('hex')}`.slice(-80);
  const started = await client.send(
    new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(request) }),
  );
  const ended = await waitForEnd(client, started.executionArn!, options.pollMs ?? 1000);
  const from = `stage ${options.stage}`;
  if (ended.status !== 'SUCCEEDED') {
    out.write(
      `doctor: target ${options.target}, from ${from}: execution ${ended.status}: ${ended.error ?? ''}: ${readableCause(ended.cause ?? '')}\n`,
    );
    return 1;
  }
  const report = JSON.parse(ended.output ?? '{}') as DoctorReport;
  out.write(
    options.json
      ? formatJson(report.target, report.checks, { stage: options.stage, executionArn: started.executionArn! })
      : formatText(report.target, report.checks, from),
  );
  return report.ok ? 0 : 1;
}

/**
 * A state machine deployed before doctor --stage would take `{"doctor": true}` for a backup and
 * run one: its definition must have the Doctor state before anything is started.
 */
async function requireDoctorState(client: SFNClient, arn: string, stage: string): Promise<void> {
  const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
  const states = (JSON.parse(described.definition ?? '{}') as { States?: Record<string, unknown> }).States ?? {};
  if (!Object.hasOwn(states, DOCTOR_STATE))
    throw new ConfigError(
      `the state machine of stage ${stage} (${arn}) has no ${DOCTOR_STATE} state: it was deployed by an older stepvault; deploy it again (npm run deploy) before doctor --stage`,
    );
}

async function waitForEnd(client: SFNClient, executionArn: string, pollMs: number) {
  for (;;) {
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') return execution;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
