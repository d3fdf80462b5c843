/**
 * RDS IAM authentication: the password is a token valid for 15 minutes, signed locally with the
 * function's credentials for one host, port and user (the role needs rds-db:connect).
 */
import { Signer } from '@aws-sdk/rds-signer';
import type { ConnectedTarget } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { redact, rememberSecret } from '../redact.ts';

export async function rdsAuthToken(target: ConnectedTarget, region = process.env.AWS_REGION): Promise<string> {
  if (!region) throw new ConfigError(`targets.${target.name}.iamAuth needs a region: set AWS_REGION (Lambda sets it)`);
  const signer = new Signer({ hostname: target.host, port: target.port, username: target.user!, region });
  try {
    const token = await signer.getAuthToken();
    rememberSecret(token);
    return token;
  } catch (error) {
    throw new ConfigError(`cannot sign an IAM token for targets.${target.name}: ${redact((error as Error).message)}`, {
      cause: error,
    });
  }
}
