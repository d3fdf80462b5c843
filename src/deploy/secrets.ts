/**
 * The secret references a config makes, checked for the shape AWS needs and turned into the IAM
 * resources that allow reading exactly them.
 */
import { destinationSecrets } from '../config/destination-secrets.ts';
import type { Config } from '../config/load.ts';
import { isSecretReference, parseSecretReference } from '../config/secrets.ts';
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
  notifications: SecretUse[];
} {
  const targets = new Map<string, SecretUse[]>();
  for (const target of Object.values(config.targets)) {
    const passphrase = target.encryption?.age.passphrase;
    const uses = [
      ...(target.password ? [{ where: `targets.${target.name}.password`, reference: target.password }] : []),
      // What a passphrase-encrypted target's dump is encrypted with: read where it is dumped.
      ...(passphrase ? [{ where: `targets.${target.name}.encryption.age.passphrase`, reference: passphrase }] : []),
    ];
    if (uses.length > 0) targets.set(target.name, uses);
  }
  const destinations = new Map<string, SecretUse[]>();
  for (const [name, d] of Object.entries(config.destinations)) {
    const uses = destinationSecrets(name, d).map(({ where, reference }) => ({ where, reference }));
    if (uses.length > 0) destinations.set(name, uses);
  }
  const observability: SecretUse[] = [];
  const { sentry, seq } = config.observability ?? {};
  if (sentry && !sentry.dsn.includes('://'))
    observability.push({ where: 'observability.sentry.dsn', reference: sentry.dsn });
  if (seq?.apiKey) observability.push({ where: 'observability.seq.apiKey', reference: seq.apiKey });
  const notifications: SecretUse[] = [];
  for (const [name, n] of Object.entries(config.notifications)) {
    const references: [string, string | undefined][] =
      n.type === 'smtp'
        ? [
            ['user', n.user !== undefined && isSecretReference(n.user) ? n.user : undefined],
            ['password', n.password],
          ]
        : n.type === 'webhook'
          ? [['url', n.url]]
          : [];
    for (const [key, reference] of references) {
      if (reference !== undefined) notifications.push({ where: `notifications.${name}.${key}`, reference });
    }
  }
  return { targets, destinations, observability, notifications };
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
