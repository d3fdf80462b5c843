/**
 * Restoring a whole-server backup (`databases`): `--database NAME` restores one of its databases
 * into --into; `--all` restores the globals (roles; users and grants) first, then every database
 * under its own name on the --into server (a path in the URL goes before each name). Every
 * database it goes into is looked at before anything is downloaded or changed, and each member is
 * checked against its own SHA-256 in the manifest before it is loaded.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { GLOBALS_MEMBER, SERVER_IN_TAR, type ServerLayout, type ServerMember } from '../contracts.ts';
import type { RestoreFamily } from '../engines/types.ts';
import { ChecksumMismatchError, ConfigError, DumpError } from '../errors.ts';
import { checkRestorable, partialRestoreError, type DatabaseContents, type OverwriteChoice } from './contents.ts';
import { downloadUnpacked } from './download.ts';
import { unpackTarredFolder } from './unpack.ts';
import type { FoundBackup } from './find.ts';
import { createMysqlDatabase, loadMysql, loadMysqlGlobals, mysqlContents } from './mysql.ts';
import {
  checkPgRestoreReads,
  createPostgresDatabase,
  loadPostgres,
  loadPostgresGlobals,
  postgresContents,
  type PostgresRestoreOptions,
} from './postgres.ts';
import type { ProgressListener } from '../observability/progress.ts';
import type { DatabaseUrl } from './url.ts';

/** Which part of a server backup to restore: one database, or all of it. */
export type ServerChoice = { database: string } | { all: true };

export interface ServerRestoreRequest extends PostgresRestoreOptions, OverwriteChoice {
  found: FoundBackup;
  layout: ServerLayout;
  choice: ServerChoice | undefined;
  into: DatabaseUrl;
  family: RestoreFamily;
  onProgress?: ProgressListener;
}

export interface ServerRestoreResult {
  /** Where each database went, in the order restored. */
  databases: DatabaseUrl[];
  globals: boolean;
  warnings: string[];
}

/** The error for a server backup restored without saying which part, or for a name it does not hold. */
export function serverChoiceProblem(
  key: string,
  layout: ServerLayout,
  choice: ServerChoice | undefined,
): string | undefined {
  const names = databasesOf(layout);
  const listed = names.map((n) => JSON.stringify(n)).join(', ');
  if (!choice)
    return `${key} is a whole-server backup of ${names.length} databases (${listed}): choose --database NAME to restore one of them into --into, or --all to restore the roles and users, then every database; nothing was restored`;
  if ('database' in choice && !names.includes(choice.database))
    return `${key} holds no database ${JSON.stringify(choice.database)}; it holds ${listed}; nothing was restored`;
  return undefined;
}

function databasesOf(layout: ServerLayout): string[] {
  return layout.members.flatMap((m) => (m.database === undefined ? [] : [m.database]));
}

export async function restoreServer(request: ServerRestoreRequest): Promise<ServerRestoreResult> {
  const { found, layout, into, family } = request;
  const problem = serverChoiceProblem(found.backup.key, layout, request.choice);
  if (problem) throw new ConfigError(problem);
  const choice = request.choice!;
  if (family === 'postgres') {
    const { manifest } = found.backup;
    await checkPgRestoreReads({ compression: manifest.compression, pgDumpVersion: manifest.tool.version });
  }
  const chosen = layout.members.filter((m) =>
    'all' in choice ? m.database !== undefined : m.database === choice.database,
  );
  // --all: each database under its own name, after the URL's path if it has one.
  const urlOf = (member: ServerMember) =>
    'all' in choice ? { ...into, database: `${into.database}${member.database}` } : into;
  const engine = engineFor(family, found, request);
  const overwrite = { ...(request.clean && { clean: true }), ...(request.force && { force: true }) };
  for (const member of chosen) checkRestorable(urlOf(member), await engine.contents(urlOf(member)), overwrite);

  const work = await mkdtemp(path.join(tmpdir(), 'stepvault-restore-'));
  try {
    const folder = await downloadUnpacked(found.storage, found.backup, work, request.onProgress, unpackServer);
    const globals = 'all' in choice ? layout.members.find((m) => m.file === GLOBALS_MEMBER) : undefined;
    for (const member of [...(globals ? [globals] : []), ...chosen])
      await checkMember(folder, member, found.backup.key);
    const warnings: string[] = [];
    if (globals) warnings.push(...(await engine.globals(path.join(folder, globals.file), into)).warnings);
    const restored: DatabaseUrl[] = [];
    for (const member of chosen) {
      const url = urlOf(member);
      const created = await engine.create(url);
      try {
        warnings.push(...(await engine.load(path.join(folder, member.file), url)).warnings);
      } catch (error) {
        const partial = partialRestoreError(url, created, error, overwrite);
        if (restored.length > 0)
          partial.message += `\nAlready restored: ${restored.map((u) => u.database).join(', ')}.`;
        throw partial;
      }
      restored.push(url);
    }
    return { databases: restored, globals: globals !== undefined, warnings };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface ServerRestoreEngine {
  contents(url: DatabaseUrl): Promise<DatabaseContents>;
  create(url: DatabaseUrl): Promise<boolean>;
  load(file: string, url: DatabaseUrl): Promise<{ warnings: string[] }>;
  globals(file: string, url: DatabaseUrl): Promise<{ warnings: string[] }>;
}

function engineFor(family: RestoreFamily, found: FoundBackup, options: PostgresRestoreOptions): ServerRestoreEngine {
  if (family === 'postgres')
    return {
      contents: postgresContents,
      create: createPostgresDatabase,
      load: (file, url) =>
        loadPostgres(file, url, {
          ...(options.clean && { clean: true }),
          ...(options.jobs && { jobs: options.jobs }),
          ...(options.noOwner && { noOwner: true }),
        }),
      globals: loadPostgresGlobals,
    };
  return {
    contents: mysqlContents,
    create: createMysqlDatabase,
    load: (file, url) => loadMysql(file, url, found.backup.manifest.compression),
    globals: loadMysqlGlobals,
  };
}

/** Unpacks a server backup's tar; the folder that holds its members. */
function unpackServer(source: AsyncIterable<Buffer>, work: string, label: string): Promise<string> {
  return unpackTarredFolder(source, work, label, {
    folder: SERVER_IN_TAR,
    marker: GLOBALS_MEMBER,
    kind: 'a whole-server backup',
  });
}

/** A member must be the file its manifest entry describes, byte for byte, before it is loaded. */
async function checkMember(folder: string, member: ServerMember, key: string): Promise<void> {
  // A manifest is data from a store: a member's name never leads out of the folder.
  if (path.basename(member.file) !== member.file || member.file.startsWith('.'))
    throw new DumpError(
      `${key} lists a member named ${JSON.stringify(member.file)}, which is not a file name; nothing was restored`,
    );
  const file = path.join(folder, member.file);
  const hash = createHash('sha256');
  let size: number;
  try {
    size = (await stat(file)).size;
    await pipeline(createReadStream(file), hash);
  } catch {
    throw new ChecksumMismatchError(`${key} lacks ${member.file}, which its manifest lists; nothing was restored`);
  }
  const sha256 = hash.digest('hex');
  if (size !== member.size || sha256 !== member.sha256)
    throw new ChecksumMismatchError(
      `${member.file} in ${key} is ${size} bytes with SHA-256 ${sha256}, its manifest says ${member.size} bytes with ${member.sha256}; nothing was restored`,
    );
}
