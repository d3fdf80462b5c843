/**
 * Restore: find the backup, look into the database it goes to (a database that holds anything
 * needs --clean or --force), bring the backup down and check it against its manifest, and only
 * then create the database if needed and restore into it. Restoring over the target's own
 * database needs --force. A failure once the restore has begun says that the database changed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engineInfo, restoreFamilyOf } from '../engines/registry.ts';
import type { Config, Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { ConfigError } from '../errors.ts';
import { downloadVerified } from './download.ts';
import { findBackup, type FoundBackup } from './find.ts';
import { checkRestorable, partialRestoreError } from './contents.ts';
import { createMysqlDatabase, loadMysql, mysqlContents } from './mysql.ts';
import { createPostgresDatabase, loadPostgres, postgresContents, type PostgresRestoreOptions } from './postgres.ts';
import { parseDatabaseUrl, type DatabaseUrl } from './url.ts';

export interface RestoreRequest extends PostgresRestoreOptions {
  config: Config;
  target: Target;
  secrets: SecretResolver;
  backup: string;
  from?: string;
  into: string;
  /** The password when the URL has none (from the environment or a prompt, never from argv). */
  password?: string;
  force?: boolean;
  onProgress?: ProgressListener;
  onFound?: (found: FoundBackup) => void;
}

export interface RestoreResult {
  found: FoundBackup;
  into: DatabaseUrl;
  warnings: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isSameDatabase(target: Target, url: DatabaseUrl): boolean {
  const sameHost = target.host === url.host || (LOOPBACK.has(target.host) && LOOPBACK.has(url.host));
  return sameHost && target.port === url.port && target.database === url.database;
}

export async function restore(request: RestoreRequest): Promise<RestoreResult> {
  const { target } = request;
  const parsed = parseDatabaseUrl(request.into);
  const into =
    parsed.password === undefined && request.password !== undefined
      ? { ...parsed, password: request.password }
      : parsed;
  const family = restoreFamilyOf(target.engine);
  if (!family) {
    const info = engineInfo(target.engine);
    throw new ConfigError(
      info.restoreHint ?? `${info.label} backups are restored by the server itself (README, "Restore")`,
    );
  }
  if (into.family !== family)
    throw new ConfigError(`--into is a ${into.family} URL, but ${target.name} is a ${target.engine} database`);
  if (isSameDatabase(target, into) && !request.force) {
    throw new ConfigError(
      `--into is ${target.name}'s own database (${target.host}:${target.port}/${target.database}); restoring over it needs --force`,
    );
  }
  const found = await findBackup(request.config, target, request.secrets, {
    backup: request.backup,
    ...(request.from && { from: request.from }),
  });
  request.onFound?.(found);
  const engine =
    family === 'postgres'
      ? {
          contents: postgresContents,
          create: createPostgresDatabase,
          load: (file: string) =>
            loadPostgres(file, into, {
              ...(request.clean && { clean: true }),
              ...(request.jobs && { jobs: request.jobs }),
              ...(request.noOwner && { noOwner: true }),
            }),
        }
      : {
          contents: mysqlContents,
          create: createMysqlDatabase,
          load: (file: string) => loadMysql(file, into, found.backup.manifest.compression),
        };
  const choice = { ...(request.clean && { clean: true }), ...(request.force && { force: true }) };
  checkRestorable(into, await engine.contents(into), choice);
  const work = await mkdtemp(path.join(tmpdir(), 'stepvault-restore-'));
  try {
    const file = path.join(work, path.basename(found.backup.key));
    await downloadVerified(found.storage, found.backup, file, request.onProgress);
    const created = await engine.create(into);
    try {
      const { warnings } = await engine.load(file);
      return { found, into, warnings };
    } catch (error) {
      throw partialRestoreError(into, created, error, choice);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
