/**
 * Which deployed state machine a command talks to: --state-machine, else
 * $STEPVAULT_STATE_MACHINE_ARN, else the StateMachineArn output of the stack `stepvault-<stage>`.
 * Clients follow the SDK's AWS_ENDPOINT_URL_SFN (a `stepvault serve` endpoint, for example).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { API_CALL, awsErrorDetail, awsRequestHandler, isUnreachable } from '../aws/http.ts';
import { ConfigError, ConnectionError } from '../errors.ts';

export function sfnClient(region: string): SFNClient {
  const client = new SFNClient({
    region,
    maxAttempts: 3,
    requestHandler: awsRequestHandler(API_CALL),
  });
  // Outside the retries: when every attempt went unanswered, say so in words, once, for every call.
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        // The SDK's own words and stack for no credentials: one line saying what to set instead.
        if ((error as Error).name === 'CredentialsProviderError')
          throw new ConfigError(
            `no AWS credentials for Step Functions (${(error as Error).message}): set AWS_PROFILE to a profile with keys, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
            { cause: error },
          );
        if (!isUnreachable(error)) throw error;
        const where = process.env.AWS_ENDPOINT_URL_SFN ?? process.env.AWS_ENDPOINT_URL ?? `Step Functions in ${region}`;
        throw new ConnectionError(`cannot reach ${where}: ${awsErrorDetail(error)}`, { cause: error });
      }
    },
    { step: 'initialize', name: 'stepvaultUnreachable' },
  );
  return client;
}

export async function stateMachineArn(options: { flag?: string; stage: string; region?: string }): Promise<string> {
  const explicit = options.flag ?? process.env.STEPVAULT_STATE_MACHINE_ARN;
  if (explicit) return explicit;
  const stack = `stepvault-${options.stage}`;
  try {
    const cloudFormation = new CloudFormationClient({
      ...(options.region && { region: options.region }),
      requestHandler: awsRequestHandler(API_CALL),
    });
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
