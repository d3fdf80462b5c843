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

export function parseSecretReference(value: string): SecretReference {
  const match = REFERENCE.exec(value);
  if (!match) throw new ConfigError(`"${redactedPreview(value)}" is not a secret reference; use ${SECRET_REFERENCE_HELP}`);
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
      throw new ConfigError(`${where}: ${parsed.scheme}: secrets cannot be resolved here (no AWS client configured); use env:NAME locally`);
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
    throw new ConfigError(`environment variable ${reference.locator} is not set; export it before the run (env:${reference.locator})`);
  }
  return value;
}

/** Enough of a mistaken literal to recognise it, never enough to leak it. */
function redactedPreview(value: string): string {
  return value.length <= 2 ? '***' : `${value.slice(0, 2)}***`;
}
