/**
 * The AWS region `stepvault start` and `status` talk to, found where the AWS CLI finds it: --region, then the config's
 * deploy.region, AWS_REGION, AWS_DEFAULT_REGION (which the CLI reads and the SDK does not), then the profile's region
 * in the shared config file (~/.aws/config, AWS_PROFILE, AWS_CONFIG_FILE). With none, one line saying what to set.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { ConfigError } from '../errors.ts';

export async function resolveRegion(explicit: string | undefined): Promise<string> {
  const given = explicit || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  if (given) return given;
  try {
    // The SDK's own chain, which reads the profile's region from the shared config file.
    const region = await new SFNClient({}).config.region();
    if (region) return region;
  } catch {
    // "Region is missing": said below in words.
  }
  throw new ConfigError(
    'no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, a region in your AWS profile (aws configure set region eu-west-1), deploy.region in the config, or pass --region',
  );
}
