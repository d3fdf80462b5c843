/**
 * Secret references: a config names where a secret lives, never the secret. They are resolved
 * at run time, by the step that needs them, and the value goes no further than that step.
 *
 * Each scheme is a small resolver in a registry; `env:` is built in, and the AWS schemes
 * (`ssm:`, `secretsmanager:`) register theirs where an AWS client is available.
 */
import { ConfigError } from '../errors.ts';
import { rememberSecret } from '../redact.ts';

export const SECRET_REFERENCE_HELP = 'env:NAME, ssm:/path or secretsmanager:ARN#key';

const REFERENCE = /^(env|ssm|secretsmanager):(.+)$/;

export type SecretScheme = 'env' | 'ssm' | 'secretsmanager';

export interface SecretReference {
  scheme: SecretScheme;
  /** What follows the scheme: a variable name, a parameter path, an ARN with an optional #key. */
  locator: string;
}

export function isSecretReference(value: string): boolean {
  return REFERENCE.test(value);
}

/** Whether a value names one of the schemes, well formed or not. */
export function looksLikeSecretReference(value: string): boolean {
  return /^(env|ssm|secretsmanager):/.test(value);
}

/**
 * What is wrong with a reference's locator, in words that say what to write; undefined when
 * it is well formed. Checked at load time, so a typo fails before anything runs.
 */
export function secretReferenceProblem(value: string): string | undefined {
  const match = /^(env|ssm|secretsmanager):(.*)$/s.exec(value);
  if (!match) return undefined;
  const [, scheme, locator] = match as unknown as [string, SecretScheme, string];
  if (locator === '') return `${scheme}: says where the secret is; write it after the colon (${SECRET_REFERENCE_HELP})`;
  if (scheme === 'env' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(locator)) {
    return 'env: needs the name of an environment variable (letters, digits and _, not starting with a digit), e.g. env:ORDERS_DB_PASSWORD';
  }
  if (scheme === 'ssm' && !/^(\/?[A-Za-z0-9_.-]+)+$|^arn:aws[a-z-]*:ssm:/.test(locator)) {
    return 'ssm: needs a parameter name or ARN (letters, digits, / _ . -), e.g. ssm:/stepvault/orders/password';
  }
  if (scheme === 'secretsmanager') {
    const [secret = '', ...keys] = locator.split('#');
    if (secret.trim() === '')
      return "secretsmanager: needs the secret's ARN or name before any #key, e.g. secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders#password";
    if (keys.length > 1 || (keys.length === 1 && keys[0]!.trim() === '')) {
      return 'secretsmanager: needs one key after "#" (e.g. secretsmanager:ARN#password), or no "#" to use the whole secret';
    }
  }
  return undefined;
}

export function parseSecretReference(value: string): SecretReference {
  const match = REFERENCE.exec(value);
  if (!match)
    throw new ConfigError(`"${redactedPreview(value)}" is not a secret reference; use ${SECRET_REFERENCE_HELP}`);
  return { scheme: match[1] as SecretScheme, locator: match[2]! };
}

export type SecretResolverFn = (reference: SecretReference) => Promise<string>;

/** Resolves references through one resolver per scheme, caching each value for this process. */
export class SecretResolver {
  private readonly resolvers = new Map<SecretScheme, SecretResolverFn>();
  private readonly cache = new Map<string, Promise<string>>();

  constructor(resolvers: Partial<Record<SecretScheme, SecretResolverFn>> = {}) {
    this.resolvers.set('env', resolveEnvironmentVariable);
    for (const [scheme, fn] of Object.entries(resolvers)) this.resolvers.set(scheme as SecretScheme, fn);
  }

  /** `where` names the config path of the reference, for the error message. */
  resolve(reference: string, where: string): Promise<string> {
    let pending = this.cache.get(reference);
    if (!pending) {
      pending = this.resolveUncached(reference, where);
      this.cache.set(reference, pending);
      pending.catch(() => this.cache.delete(reference));
    }
    return pending;
  }

  private async resolveUncached(reference: string, where: string): Promise<string> {
    const parsed = parseSecretReference(reference);
    const resolver = this.resolvers.get(parsed.scheme);
    if (!resolver) {
      throw new ConfigError(
        `${where}: ${parsed.scheme}: secrets cannot be resolved here (no AWS client configured); use env:NAME locally`,
      );
    }
    try {
      const value = await resolver(parsed);
      rememberSecret(value);
      return value;
    } catch (error) {
      if (error instanceof ConfigError) throw new ConfigError(`${where}: ${error.message}`, { cause: error });
      throw error;
    }
  }
}

async function resolveEnvironmentVariable(reference: SecretReference): Promise<string> {
  const value = process.env[reference.locator];
  if (value === undefined) {
    throw new ConfigError(
      `environment variable ${reference.locator} is not set; export it before the run (env:${reference.locator})`,
    );
  }
  return value;
}

/** Enough of a mistaken literal to recognise it, never enough to leak it. */
function redactedPreview(value: string): string {
  return value.length <= 2 ? '***' : `${value.slice(0, 2)}***`;
}
