/**
 * `stepvault restore --target NAME [--backup latest|KEY] [--from DEST] [--database NAME | --all] --into URL`:
 * see src/restore/restore.ts (and src/restore/server.ts for a whole-server backup).
 */
import { getTarget, type Config } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { formatBytes } from '../text/format.ts';
import { describeProgress } from '../observability/progress.ts';
import { PartialRestoreError } from '../errors.ts';
import { restore, type RestoreResult } from '../restore/restore.ts';
import { parseDatabaseUrl } from '../restore/url.ts';
import { restorePassword, type PasswordSources } from './restore-password.ts';
import { IDENTITY_VARIABLE, readIdentity } from '../encryption/identity.ts';

export interface RestoreCommandOptions {
  target: string;
  backup: string;
  from?: string;
  into: string;
  force: boolean;
  clean: boolean;
  jobs?: number;
  noOwner: boolean;
  /** Where the age identity is: a file or a secret reference (default: $STEPVAULT_AGE_IDENTITY). */
  identity?: string;
  /** A whole-server backup: the one database to restore. */
  database?: string;
  /** A whole-server backup: the globals, then every database. */
  all?: boolean;
}

/**
 * Exit codes: 0 restored; 1 the restore failed after it had begun changing the database (the
 * message says what changed); 2 (thrown, from the command line) nothing was changed.
 */
export async function restoreCommand(
  config: Config,
  options: RestoreCommandOptions,
  secrets: SecretResolver,
  out: { write(text: string): unknown; isTTY?: boolean },
  err: { write(text: string): unknown },
  passwordSources: PasswordSources = { env: process.env, input: process.stdin, prompt: err },
): Promise<number> {
  const url = parseDatabaseUrl(options.into, { server: options.all === true });
  const password =
    url.password === undefined
      ? await restorePassword(`${url.user}@${url.host}:${url.port}`, passwordSources)
      : undefined;
  const identity = await identityFor(options, secrets, passwordSources.env);
  const started = Date.now();
  let result: RestoreResult;
  try {
    result = await restore({
      config,
      target: getTarget(config, options.target),
      secrets,
      backup: options.backup,
      ...(options.from && { from: options.from }),
      into: options.into,
      ...(password !== undefined && { password }),
      force: options.force,
      clean: options.clean,
      ...(options.jobs && { jobs: options.jobs }),
      noOwner: options.noOwner,
      ...(identity !== undefined && { identity }),
      ...(options.database !== undefined && { database: options.database }),
      ...(options.all && { all: true }),
      onFound: ({ destination, backup }) => {
        out.write(
          `restoring ${backup.key} (${formatBytes(backup.manifest.size)}, ${backup.manifest.createdAt}) from ${destination}\n`,
        );
      },
      onProgress: (progress) => {
        if (!out.isTTY) return;
        out.write(`\r\x1b[K  downloading ${describeProgress(progress, (Date.now() - started) / 1000, 'downloaded')}`);
      },
    });
  } catch (error) {
    if (!(error instanceof PartialRestoreError)) throw error;
    if (out.isTTY) out.write('\r\x1b[K');
    err.write(`stepvault: ${error.message}\n`);
    return 1;
  }
  if (out.isTTY) out.write('\r\x1b[K');
  out.write(`checksum ${result.found.backup.manifest.sha256} matches the manifest\n`);
  for (const warning of result.warnings) out.write(`note: ${warning}\n`);
  if (result.server) {
    if (result.server.globals) out.write(`restored the roles and users into ${result.into.host}:${result.into.port}\n`);
    for (const url of result.server.databases) out.write(`restored into ${url.host}:${url.port}/${url.database}\n`);
    return 0;
  }
  out.write(`restored into ${result.into.host}:${result.into.port}/${result.into.database}\n`);
  return 0;
}

/**
 * The identity's text, read before anything is looked up: from --identity (a file or a secret
 * reference), else from STEPVAULT_AGE_IDENTITY, which may hold the same or the identity itself
 * (an environment is not a command line that `ps` shows).
 */
async function identityFor(
  options: RestoreCommandOptions,
  secrets: SecretResolver,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  if (options.identity !== undefined) return readIdentity(options.identity, secrets, '--identity');
  const fromEnv = env[IDENTITY_VARIABLE];
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (/^\s*(#.*\n\s*)*AGE-SECRET-KEY-/i.test(fromEnv)) return fromEnv;
  return readIdentity(fromEnv, secrets, IDENTITY_VARIABLE);
}
