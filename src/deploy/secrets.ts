/**
 * The secret references a config makes, checked for the shape AWS needs and turned into the IAM
 * resources that allow reading exactly them.
 */
import type { Config } from '../config/load.ts';
import { parseSecretReference } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';

export interface SecretUse {
  where: string;
  reference: string;
}

type Sub = { 'Fn::Sub': string };

/** Every secret reference, with where it is used (what needs it decides which role may read it). */
export function secretUses(config: Config): {
  targets: Map<string, SecretUse[]>;
  destinations: Map<string, SecretUse[]>;
  observability: SecretUse[];
} {
  const targets = new Map<string, SecretUse[]>();
  for (const target of Object.values(config.targets)) {
    if (target.password)
      targets.set(target.name, [{ where: `targets.${target.name}.password`, reference: target.password }]);
  }
  const destinations = new Map<string, SecretUse[]>();
  for (const [name, d] of Object.entries(config.destinations)) {
    if ((d.type === 's3' || d.type === 'r2') && d.accessKeyId && d.secretAccessKey) {
      destinations.set(name, [
        { where: `destinations.${name}.accessKeyId`, reference: d.accessKeyId },
        { where: `destinations.${name}.secretAccessKey`, reference: d.secretAccessKey },
      ]);
    }
  }
  const observability: SecretUse[] = [];
  const { sentry, seq } = config.observability ?? {};
  if (sentry && !sentry.dsn.includes('://'))
    observability.push({ where: 'observability.sentry.dsn', reference: sentry.dsn });
  if (seq?.apiKey) observability.push({ where: 'observability.seq.apiKey', reference: seq.apiKey });
  return { targets, destinations, observability };
}

const SECRET_ARN = /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** Refuses references Lambda cannot resolve, naming the fix. */
export function checkSecretUse(use: SecretUse): void {
  const { scheme, locator } = parseSecretReference(use.reference);
  if (scheme === 'env') {
    throw new ConfigError(
      `${use.where}: ${use.reference} cannot be resolved on Lambda (its environment holds no secrets); store it in SSM (ssm:/path) or Secrets Manager (secretsmanager:ARN#key)`,
    );
  }
  if (scheme === 'ssm' && !/^\/[A-Za-z0-9_.\-/]+$/.test(locator)) {
    throw new ConfigError(
      `${use.where}: "ssm:${locator}" must name a parameter path starting with "/", e.g. ssm:/prod/orders/db-password`,
    );
  }
  if (scheme === 'secretsmanager' && !SECRET_ARN.test(locator.split('#')[0]!)) {
    throw new ConfigError(
      `${use.where}: "secretsmanager:${locator}" must be a secret's full ARN with an optional #key, e.g. secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders-db#password`,
    );
  }
}

/** The IAM resource that allows reading one reference. */
export function secretResource(reference: string): { action: string; resource: string | Sub } {
  const { scheme, locator } = parseSecretReference(reference);
  if (scheme === 'ssm')
    return {
      action: 'ssm:GetParameter',
      resource: { 'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${locator}` },
    };
  const arn = locator.split('#')[0]!;
  // Secrets Manager appends six random characters to a secret's name in its ARN; a reference
  // may leave them out.
  return { action: 'secretsmanager:GetSecretValue', resource: /-[A-Za-z0-9]{6}$/.test(arn) ? arn : `${arn}-??????` };
}
