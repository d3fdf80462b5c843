/**
 * Which deployed state machine a command talks to: --state-machine, else
 * $STEPVAULT_STATE_MACHINE_ARN, else the StateMachineArn output of the stack `stepvault-<stage>`.
 * Clients follow the SDK's AWS_ENDPOINT_URL_SFN (a `stepvault serve` endpoint, for example).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors.ts';

export function sfnClient(region: string | undefined): SFNClient {
  return new SFNClient({ ...(region && { region }), maxAttempts: 3 });
}

export async function stateMachineArn(options: { flag?: string; stage: string; region?: string }): Promise<string> {
  const explicit = options.flag ?? process.env.STEPVAULT_STATE_MACHINE_ARN;
  if (explicit) return explicit;
  const stack = `stepvault-${options.stage}`;
  try {
    const cloudFormation = new CloudFormationClient({ ...(options.region && { region: options.region }) });
    const result = await cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    const arn = result.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'StateMachineArn')?.OutputValue;
    if (arn) return arn;
    throw new ConfigError(`stack ${stack} has no StateMachineArn output`);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `cannot find the state machine of stack ${stack} (${(error as Error).name}: ${(error as Error).message}); pass --state-machine ARN, set STEPVAULT_STATE_MACHINE_ARN, or --stage`,
    );
  }
}
