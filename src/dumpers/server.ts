/**
 * A whole server (`databases: all` or a list): each database dumped as its engine always dumps
 * one (pg_dump's custom format, mariadb-dump's SQL, compressed as the target says, each checked
 * as it is written), then the server's globals (roles; users and grants), all into a private
 * scratch folder stored as ONE tar object, like a parallel dump's folder. Upload, verify,
 * retention and listing see one object per run; the manifest's layout lists every member with its
 * own size and SHA-256, which restore checks before it loads one.
 *
 * `all` is resolved here, when the dump starts, not by Plan: Plan runs before anything touches
 * the database (and, on the lambda and fargate runners, is not where the database is reached),
 * and the list that counts is the one that exists when the dumps are taken.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ConnectedTarget } from '../config/load.ts';
import { GLOBALS_MEMBER, SERVER_IN_TAR, type ServerMember, type ToolInfo } from '../contracts.ts';
import { engineInfo } from '../engines/registry.ts';
import { ConfigError, DumpError } from '../errors.ts';
import { createScratch, removeScratch } from '../tools/scratch.ts';
import { dumpExtension } from './extension.ts';
import { storeFolderAsTar } from './folder-tar.ts';
import { MAX_COUNTED_TABLES } from './row-counts.ts';
import { mariadbServer } from './server-mariadb.ts';
import { mysqlServer } from './server-mysql.ts';
import { postgresServer } from './server-postgres.ts';
import type { DumpOutput, DumpRequest, DumpSink, StagingDumper } from './types.ts';
import { mkdir } from 'node:fs/promises';

/** What an engine adds to its single-database dumper to back up a whole server. */
export interface ServerEngine {
  /** Every database the server has, as it names them (templates and system schemas included). */
  listDatabases(target: ConnectedTarget, password: string | undefined): Promise<string[]>;
  /** Writes the globals (roles; users and grants) into `file`, checked complete. */
  dumpGlobals(target: ConnectedTarget, password: string | undefined, file: string): Promise<{ tool: ToolInfo }>;
  /** The engine's own dumper of one database. */
  member: StagingDumper;
}

const SERVER_ENGINES: Partial<Record<ConnectedTarget['engine'], ServerEngine>> = {
  postgres: postgresServer,
  mariadb: mariadbServer,
  mysql: mysqlServer,
};

function serverEngine(target: ConnectedTarget): ServerEngine {
  const engine = SERVER_ENGINES[target.engine];
  // The schema refuses databases on every other engine.
  if (!engine) throw new ConfigError(`targets.${target.name}.databases does not apply to engine ${target.engine}`);
  return engine;
}

/**
 * The databases to back up: `all` is every one the server has but its templates and system
 * schemas; a list must name databases the server has, or the run stops before dumping any.
 */
export function chooseDatabases(
  target: Pick<ConnectedTarget, 'name' | 'engine' | 'databases'>,
  found: string[],
): string[] {
  const skipped = new Set(engineInfo(target.engine).wholeServer?.skipped ?? []);
  const candidates = found.filter((name) => !skipped.has(name));
  if (target.databases === 'all' || target.databases === undefined) {
    if (candidates.length === 0)
      throw new ConfigError(
        `targets.${target.name}.databases is all, but the server has no database to back up besides ${[...skipped].join(', ')}`,
      );
    return candidates;
  }
  const missing = target.databases.filter((name) => !found.includes(name));
  if (missing.length > 0)
    throw new ConfigError(
      `targets.${target.name}.databases names ${missing.map((n) => JSON.stringify(n)).join(', ')}, which the server does not have; it has ${candidates.map((n) => JSON.stringify(n)).join(', ') || 'none besides its own'}`,
    );
  const system = target.databases.filter((name) => skipped.has(name));
  if (system.length > 0)
    throw new ConfigError(
      `targets.${target.name}.databases names ${system.join(', ')}, which the server keeps for itself; what matters of it (roles, users, grants) is in the globals already: remove it`,
    );
  return target.databases;
}

/**
 * A member's file name: its place in the list and the database's name made safe for any file
 * system (the manifest keeps the real name); the number keeps two names that look alike apart.
 */
export function memberFileName(index: number, database: string, extension: string): string {
  const slug = database.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return `${String(index + 1).padStart(3, '0')}-${slug}${extension}`;
}

async function dumpServer(
  request: Omit<DumpRequest, 'file'>,
  sink: DumpSink,
  scratchParent: string,
): Promise<DumpOutput> {
  const { target, password } = request;
  // The schema refuses this pairing; never write plaintext dumps if it is bypassed.
  if (request.encryption)
    throw new ConfigError(
      `targets.${target.name}: databases writes each database's dump unencrypted before the server's folder is stored; back up each database in a target of its own to encrypt it`,
    );
  const engine = serverEngine(target);
  const databases = chooseDatabases(target, await engine.listDatabases(target, password));
  const scratch = await createScratch(scratchParent, '.server-');
  try {
    const dir = path.join(scratch, SERVER_IN_TAR);
    await mkdir(dir, { mode: 0o700 });
    const members: ServerMember[] = [];
    let first: DumpOutput | undefined;
    for (const [index, database] of databases.entries()) {
      const member: ConnectedTarget = { ...target, database };
      delete member.databases;
      const file = memberFileName(index, database, dumpExtension(member));
      const output = await engine.member.dump({
        target: member,
        ...(password !== undefined && { password }),
        file: path.join(dir, file),
        ...(request.onWarning && { onWarning: (message) => request.onWarning!(`${database}: ${message}`) }),
      });
      first ??= output;
      members.push({
        file,
        database,
        size: output.size,
        sha256: output.sha256,
        ...(output.rowCounts && { rowCounts: output.rowCounts }),
      });
    }
    const globalsFile = path.join(dir, GLOBALS_MEMBER);
    const globals = await engine.dumpGlobals(target, password, globalsFile);
    members.push({ file: GLOBALS_MEMBER, ...(await measure(globalsFile)) });
    // Each member was judged as it was written; what is left to refuse is a folder that changed since.
    const stored = await storeFolderAsTar(scratch, SERVER_IN_TAR, sink, request, async () => {
      for (const m of members) {
        const now = await measure(path.join(dir, m.file));
        if (now.sha256 !== m.sha256)
          throw new DumpError(`${m.file} of ${target.name} changed after it was dumped; nothing was published`);
      }
    });
    return {
      size: stored.size,
      sha256: stored.sha256,
      compression: first!.compression,
      ...(first!.compressionLevel !== undefined && { compressionLevel: first!.compressionLevel }),
      tool: first?.tool ?? globals.tool,
      serverVersion: first!.serverVersion,
      layout: { kind: 'server', members: withinPayload(members) },
    };
  } finally {
    await removeScratch(scratch);
  }
}

/** Size and SHA-256 of a file, read once. */
async function measure(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { size: (await stat(file)).size, sha256: hash.digest('hex') };
}

/**
 * Rows per table ride in the state machine's payload (256 KB at most): past as many tables as one
 * database may count, the members keep their checksums and lose their counts.
 */
function withinPayload(members: ServerMember[]): ServerMember[] {
  const tables = members.reduce((sum, m) => sum + Object.keys(m.rowCounts ?? {}).length, 0);
  if (tables <= MAX_COUNTED_TABLES) return members;
  return members.map(({ rowCounts: _dropped, ...rest }) => rest);
}

/**
 * The dumper of a target with databases. Into staging (efs), the folder goes beside the staged
 * file; streamed (fargate), into the system's temporary folder, the task's ephemeral storage.
 */
export const serverDumper: StagingDumper = {
  writes: 'staging',
  dump: (request) => dumpServer(request, { file: request.file }, path.dirname(request.file)),
  dumpInto: (request) => dumpServer(request, { stream: request.sink }, tmpdir()),
};
