/**
 * The AWS secret schemes: `ssm:/path` (an SSM parameter, SecureString decrypted) and
 * `secretsmanager:ARN[#key]` (a secret; with #key, that field of its JSON). Clients are made once
 * per process; values are cached by the resolver, which Lambda makes anew for every invocation so
 * that a rotated secret is picked up.
 *
 * The two clients are imported on first use: most configs use neither scheme, and together they
 * hold about 10 MB of heap (25 MB of resident memory) in every `stepvault run` and every function.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { API_CALL, awsRequestHandler } from '../aws/http.ts';
import { ConfigError, TransientError } from '../errors.ts';
import type { SecretReference, SecretResolverFn, SecretScheme } from './secrets.ts';

let ssm: SSMClient | undefined;
let secretsManager: SecretsManagerClient | undefined;

const NOT_FOUND = ['ParameterNotFound', 'ResourceNotFoundException', 'AccessDeniedException', 'AccessDenied'];

async function resolveSsm(reference: SecretReference): Promise<string> {
  const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
  ssm ??= new SSMClient({ maxAttempts: 3, requestHandler: awsRequestHandler(API_CALL) });
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: reference.locator, WithDecryption: true }));
    const value = result.Parameter?.Value;
    if (value === undefined) throw new ConfigError(`SSM parameter ${reference.locator} has no value`);
    return value;
  } catch (error) {
    throw translate(error, `SSM parameter ${reference.locator}`);
  }
}

async function resolveSecretsManager(reference: SecretReference): Promise<string> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  secretsManager ??= new SecretsManagerClient({ maxAttempts: 3, requestHandler: awsRequestHandler(API_CALL) });
  const [arn, key] = reference.locator.split('#') as [string, string | undefined];
  let text: string | undefined;
  try {
    text = (await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
  } catch (error) {
    throw translate(error, `secret ${arn}`);
  }
  if (text === undefined) throw new ConfigError(`secret ${arn} has no string value`);
  if (key === undefined) return text;
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ConfigError(`secret ${arn} is not JSON, so it has no key "${key}"; drop #${key} to use the whole value`);
  }
  const value = fields[key];
  if (typeof value !== 'string')
    throw new ConfigError(`secret ${arn} has no key "${key}" (its keys: ${Object.keys(fields).join(', ')})`);
  return value;
}

function translate(error: unknown, what: string): Error {
  if (error instanceof ConfigError) return error;
  const e = error as { name?: string; message?: string };
  if (NOT_FOUND.includes(e.name ?? ''))
    return new ConfigError(`${what} cannot be read (${e.name}): check the reference and the function's permissions`, {
      cause: error,
    });
  return new TransientError(`${what} could not be read: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`, {
    cause: error,
  });
}

export const AWS_SECRET_RESOLVERS: Partial<Record<SecretScheme, SecretResolverFn>> = {
  ssm: resolveSsm,
  secretsmanager: resolveSecretsManager,
};
