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
import { configuredConnection, type Config, type ConnectedTarget, type Target } from '../config/load.ts';
import { connectTarget } from '../steps/target-connection.ts';
import type { SecretResolver } from '../config/secrets.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { ConfigError } from '../errors.ts';
import { downloadUnpacked, downloadVerified } from './download.ts';
import { findBackup, type FoundBackup } from './find.ts';
import { checkRestorable, partialRestoreError } from './contents.ts';
import { createMysqlDatabase, loadMysql, mysqlContents } from './mysql.ts';
import {
  checkPgRestoreReads,
  createPostgresDatabase,
  loadPostgres,
  postgresContents,
  type PostgresRestoreOptions,
} from './postgres.ts';
import { parseDatabaseUrl, type DatabaseUrl } from './url.ts';
import { restoreServer, type ServerChoice, type ServerRestoreResult } from './server.ts';
import type { ServerLayout } from '../contracts.ts';
import type { RestoreFamily } from '../engines/types.ts';
import { AGE_EXTENSION } from '../encryption/recipient.ts';
import { decryptFile } from '../encryption/identity.ts';

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
  /** The text of the age identity (or passphrase) that opens an encrypted backup. */
  identity?: string;
  /** A whole-server backup: restore this one of its databases into `into`. */
  database?: string;
  /** A whole-server backup: the globals, then every database, onto the `into` server. */
  all?: boolean;
  onProgress?: ProgressListener;
  onFound?: (found: FoundBackup) => void;
}

export interface RestoreResult {
  found: FoundBackup;
  into: DatabaseUrl;
  warnings: string[];
  /** A whole-server backup: every database restored, and whether the globals were. */
  server?: ServerRestoreResult;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isSameDatabase(target: ConnectedTarget, url: DatabaseUrl): boolean {
  const sameHost = target.host === url.host || (LOOPBACK.has(target.host) && LOOPBACK.has(url.host));
  return sameHost && target.port === url.port && target.database === url.database;
}

export async function restore(request: RestoreRequest): Promise<RestoreResult> {
  const { target } = request;
  if (request.all && request.database !== undefined)
    throw new ConfigError('--all and --database exclude each other: --all restores every database, --database one');
  const parsed = parseDatabaseUrl(request.into, { server: request.all === true });
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
  if (!request.force) {
    // A target configured by url is where its URL points: resolved like every secret, to compare.
    const own = target.url ? (await connectTarget(target, request.secrets)).target : configuredConnection(target);
    if (isSameDatabase(own, into)) {
      throw new ConfigError(
        `--into is ${target.name}'s own database (${own.host}:${own.port}/${own.database}); restoring over it needs --force`,
      );
    }
  }
  const found = await findBackup(request.config, target, request.secrets, {
    backup: request.backup,
    ...(request.from && { from: request.from }),
  });
  request.onFound?.(found);
  const encryption = found.backup.manifest.encryption;
  if (encryption && request.identity === undefined)
    throw new ConfigError(
      `${found.backup.key} is encrypted with age (for ${encryption.recipients.join(', ')}): give the identity that opens it with --identity FILE or --identity env:NAME (or set STEPVAULT_AGE_IDENTITY); nothing was restored`,
    );
  const layout = found.backup.manifest.layout;
  if (layout?.kind === 'server') return restoreWholeServer(request, found, layout, into, family);
  if (request.all || request.database !== undefined)
    throw new ConfigError(
      `${request.all ? '--all' : '--database'} applies to a whole-server backup (a target with databases:), and ${found.backup.key} is a backup of one database (${found.backup.manifest.database}); leave it out`,
    );
  if (family === 'postgres') {
    const { manifest } = found.backup;
    await checkPgRestoreReads({ compression: manifest.compression, pgDumpVersion: manifest.tool.version });
  }
  // A parallel dump restores with as many jobs as wrote it, unless --jobs says otherwise.
  const jobs = request.jobs ?? (layout?.kind === 'directory-tar' ? layout.jobs : undefined);
  const engine =
    family === 'postgres'
      ? {
          contents: postgresContents,
          create: createPostgresDatabase,
          load: (file: string) =>
            loadPostgres(file, into, {
              ...(request.clean && { clean: true }),
              ...(jobs && { jobs }),
              ...(request.noOwner && { noOwner: true }),
            }),
        }
      : {
          contents: mysqlContents,
          create: createMysqlDatabase,
          load: (file: string) => loadMysql(file, into, found.backup.manifest.compression, found.backup.manifest.tool),
        };
  const choice = { ...(request.clean && { clean: true }), ...(request.force && { force: true }) };
  checkRestorable(into, await engine.contents(into), choice);
  const work = await mkdtemp(path.join(tmpdir(), 'stepvault-restore-'));
  try {
    let file = path.join(work, path.basename(found.backup.key));
    if (layout?.kind === 'directory-tar')
      file = await downloadUnpacked(found.storage, found.backup, work, request.onProgress);
    else await downloadVerified(found.storage, found.backup, file, request.onProgress);
    if (encryption) {
      // The ciphertext matched its manifest; decrypted whole into this private folder before any
      // database is created or loaded, so a wrong identity or an altered file changes nothing.
      const plain = file.endsWith(AGE_EXTENSION) ? file.slice(0, -AGE_EXTENSION.length) : `${file}.decrypted`;
      await decryptFile(file, plain, request.identity!, encryption, found.backup.key);
      await rm(file, { force: true });
      file = plain;
    }
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

/**
 * A whole-server backup: one of its databases, or all of them after the globals. Restoring one
 * of the source's own databases onto its own server needs --force, as for a single database.
 */
async function restoreWholeServer(
  request: RestoreRequest,
  found: FoundBackup,
  layout: ServerLayout,
  into: DatabaseUrl,
  family: RestoreFamily,
): Promise<RestoreResult> {
  const { target } = request;
  if (found.backup.manifest.encryption)
    throw new ConfigError(
      `${found.backup.key} is an encrypted whole-server backup, which stepvault never writes; nothing was restored`,
    );
  if (!request.force) {
    const own = target.url ? (await connectTarget(target, request.secrets)).target : configuredConnection(target);
    const names = request.all
      ? layout.members.flatMap((m) => (m.database === undefined ? [] : [`${into.database}${m.database}`]))
      : [into.database];
    const sources = layout.members.map((m) => m.database);
    const overlapping = names.filter((name) => sources.includes(name));
    if (overlapping.length > 0 && isSameDatabase(own, { ...into, database: own.database }))
      throw new ConfigError(
        `--into is ${target.name}'s own server (${own.host}:${own.port}), and ${overlapping.join(', ')} ${overlapping.length > 1 ? 'are its own databases' : 'is its own database'}; restoring over ${overlapping.length > 1 ? 'them' : 'it'} needs --force${request.all ? ', or give the URL a path to put before every name (…/restored_)' : ''}`,
      );
  }
  const choice: ServerChoice | undefined = request.all
    ? { all: true }
    : request.database !== undefined
      ? { database: request.database }
      : undefined;
  const server = await restoreServer({
    found,
    layout,
    choice,
    into,
    family,
    ...(request.clean && { clean: true }),
    ...(request.force && { force: true }),
    ...(request.jobs && { jobs: request.jobs }),
    ...(request.noOwner && { noOwner: true }),
    ...(request.onProgress && { onProgress: request.onProgress }),
  });
  return { found, into, warnings: server.warnings, server };
}
