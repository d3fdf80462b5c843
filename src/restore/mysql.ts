/**
 * Restores a compressed SQL dump into MySQL or MariaDB through their client, in two steps the
 * caller can tell apart: preparing the database (created when missing) and loading the dump.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import { optionFileText, restoreClientsFor } from '../dumpers/mysql.ts';
import type { ToolInfo } from '../contracts.ts';
import { resolveTool, type ToolCommand } from '../tools/resolver.ts';
import { ConfigError, ConnectionError, DumpError, StepvaultError } from '../errors.ts';
import type { DatabaseContents } from './contents.ts';
import type { DatabaseUrl } from './url.ts';

function decompressor(compression: string): Transform {
  if (compression === 'zstd') return zlib.createZstdDecompress();
  if (compression === 'gzip') return zlib.createGunzip();
  if (compression === 'none') return new PassThrough();
  throw new DumpError(`a ${compression} dump cannot be restored into MySQL or MariaDB`);
}

/**
 * How to start the mysql/mariadb client against a URL: the command, the arguments that connect
 * (the password in a 0600 option file, never on the command line), and `close` to remove that file.
 */
export async function mysqlConnection(
  url: DatabaseUrl,
  dumpedBy?: ToolInfo,
): Promise<{ client: ToolCommand; args: string[]; close(): Promise<void> }> {
  const client = resolveTool(restoreClientsFor(dumpedBy));
  const secretDir = await mkdtemp(path.join(tmpdir(), 'stepvault-'));
  const optionFile = path.join(secretDir, 'client.cnf');
  await writeFile(optionFile, optionFileText(url.password), { mode: 0o600 });
  return {
    client,
    args: [
      `--defaults-file=${optionFile}`,
      ...(client.pluginDir ? [`--plugin-dir=${client.pluginDir}`] : []),
      '--host',
      url.host,
      '--port',
      String(url.port),
      '--user',
      url.user,
      '--protocol=TCP',
      '--default-character-set=utf8mb4',
    ],
    close: () => rm(secretDir, { recursive: true, force: true }),
  };
}

/** Runs the client with `args` (and the dump, decompressed, on its standard input); its output. */
async function runClient(
  url: DatabaseUrl,
  args: string[],
  input?: { source: string | Readable; compression: string; dumpedBy?: ToolInfo },
): Promise<string> {
  const { client, args: base, close } = await mysqlConnection(url, input?.dumpedBy);
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(client.file, [...client.prefixArgs, ...base, ...args], {
        env: toolEnvironment({}),
        stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const fed = input
        ? pipeline(
            typeof input.source === 'string' ? createReadStream(input.source) : input.source,
            decompressor(input.compression),
            child.stdin!,
          )
        : Promise.resolve();
      child.on('error', reject);
      child.on('close', (code) => {
        fed.then(
          () => (code === 0 ? resolve(stdout) : reject(classify(stderr, url))),
          // A stream's own failure (an altered ciphertext) says more than the client cut off mid-file.
          (error: unknown) => reject(code === 0 || error instanceof StepvaultError ? error : classify(stderr, url)),
        );
      });
    });
  } finally {
    await close();
  }
}

const literal = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Whether the database exists and which tables, views, routines, triggers and events it holds. */
export async function mysqlContents(url: DatabaseUrl): Promise<DatabaseContents> {
  const name = literal(url.database);
  const sql = `SELECT 'database', SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${name}
    UNION ALL SELECT IF(TABLE_TYPE = 'VIEW', 'view', 'table'), TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${name}
    UNION ALL SELECT LOWER(ROUTINE_TYPE), ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${name}
    UNION ALL SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${name}
    UNION ALL SELECT 'event', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${name}`;
  const rows = (await runClient(url, ['-N', '-B', '-e', sql]))
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'));
  const exists = rows.some(([kind]) => kind === 'database');
  return { exists, objects: rows.filter(([kind]) => kind !== 'database').map(([kind, object]) => `${kind} ${object}`) };
}

/** Creates the database when it is missing; true when it did. */
export async function createMysqlDatabase(url: DatabaseUrl): Promise<boolean> {
  const { exists } = await mysqlContents(url);
  if (exists) return false;
  await runClient(url, ['-e', `CREATE DATABASE IF NOT EXISTS \`${url.database.replace(/`/g, '``')}\``]);
  return true;
}

/** Feeds the dump to the client; the dump itself drops and recreates each table, view and routine it holds. */
export async function loadMysql(
  source: string | Readable,
  url: DatabaseUrl,
  compression: string,
  dumpedBy?: ToolInfo,
): Promise<{ warnings: string[] }> {
  // After `--` the name is a name, even one that starts with "-".
  await runClient(url, ['--', url.database], { source, compression, ...(dumpedBy && { dumpedBy }) });
  return { warnings: [] };
}

/**
 * A whole server's users and grants (mariadb-dump --system=users --insert-ignore) fed to the
 * client with no database: CREATE USER IF NOT EXISTS keeps the users the server has already. The
 * dump also re-grants PROXY to the server's own root accounts, which only a user holding PROXY
 * itself may do: those statements are skipped with a note (the server's own root keeps its own);
 * any other statement that fails fails the restore.
 */
export async function loadMysqlGlobals(file: string, url: DatabaseUrl): Promise<{ warnings: string[] }> {
  const { client, args, close } = await mysqlConnection(url);
  let stderr = '';
  let code: number | null;
  try {
    code = await new Promise<number | null>((resolve, reject) => {
      // --force: on to the next statement after one fails, so every failure is known and judged.
      const child = spawn(client.file, [...client.prefixArgs, ...args, '--force'], {
        env: toolEnvironment({}),
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      const fed = pipeline(createReadStream(file), child.stdin!);
      child.on('close', (exit) => fed.then(() => resolve(exit), reject));
    });
  } finally {
    await close();
  }
  if (code === 0) return { warnings: [] };
  const lines = (await readFile(file, 'utf8')).split('\n');
  const failures = [...stderr.matchAll(/^ERROR \d+ \([^)]*\) at line (\d+): (.*)$/gm)].map(([, line, message]) => ({
    statement: lines[Number(line) - 1] ?? '',
    message: message!,
  }));
  const proxy = failures.filter((f) => /^GRANT PROXY ON /.test(f.statement) && /Access denied/.test(f.message));
  const other = failures.filter((f) => !proxy.includes(f));
  if (other.length > 0 || failures.length === 0) throw classify(stderr, { ...url, database: 'the users and grants' });
  return {
    warnings: [
      `${proxy.length} GRANT PROXY statement(s) skipped: ${url.user} may not grant PROXY (${proxy
        .map((f) => f.statement.replace(/^GRANT PROXY ON \S+ TO /, '').replace(/ WITH GRANT OPTION;$/, ''))
        .join(', ')})`,
    ],
  };
}

/** Both steps at once, for a scratch database nobody else uses (the restore drill). */
export async function restoreMysql(
  file: string | Readable,
  url: DatabaseUrl,
  compression: string,
  dumpedBy?: ToolInfo,
): Promise<{ warnings: string[] }> {
  await createMysqlDatabase(url);
  return loadMysql(file, url, compression, dumpedBy);
}

function classify(stderr: string, url: DatabaseUrl): Error {
  if (/\bERROR 1045\b/.test(stderr))
    return new ConfigError(`cannot log in to ${url.host}:${url.port} as ${url.user}: ${firstErrorLine(stderr)}`);
  if (/\b(2002|2003|2005)\b|Can't connect/.test(stderr))
    return new ConnectionError(`cannot reach ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
  return new DumpError(`restore into ${url.database} failed: ${firstErrorLine(stderr)}`);
}
