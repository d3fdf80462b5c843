/** `stepvault restore --target NAME [--backup latest|KEY] [--from DEST] --into URL`: see src/restore/restore.ts. */
import { getTarget, type Config } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { formatBytes } from '../text/format.ts';
import { describeProgress } from '../observability/progress.ts';
import { PartialRestoreError } from '../errors.ts';
import { restore, type RestoreResult } from '../restore/restore.ts';
import { parseDatabaseUrl } from '../restore/url.ts';
import { restorePassword, type PasswordSources } from './restore-password.ts';

export interface RestoreCommandOptions {
  target: string;
  backup: string;
  from?: string;
  into: string;
  force: boolean;
  clean: boolean;
  jobs?: number;
  noOwner: boolean;
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
  const url = parseDatabaseUrl(options.into);
  const password =
    url.password === undefined
      ? await restorePassword(`${url.user}@${url.host}:${url.port}`, passwordSources)
      : undefined;
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
  out.write(`restored into ${result.into.host}:${result.into.port}/${result.into.database}\n`);
  return 0;
}
