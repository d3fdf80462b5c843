/**
 * Statements run as the target's own user, over the connection the dump makes (same host, TLS
 * mode, password by environment or a 0600 option file): what that user may do is what the dump
 * may do. psql for PostgreSQL; mariadb or mysql for the MySQL family.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { clientFlavor, mysqlClientArgs, mysqlClientTool, optionFileText } from '../dumpers/mysql.ts';
import { pgEnvironment, pgTargetDbnameArg } from '../dumpers/postgres.ts';
import { toolEnvironment } from '../tools/environment.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import type { TargetConnection } from '../steps/target-connection.ts';

const run = promisify(execFile);

/** A failed statement, with the client's complaint for the engine's classifier. */
export class SqlClientError extends Error {
  readonly stderr: string;
  constructor(message: string, stderr: string) {
    super(message);
    this.name = 'SqlClientError';
    this.stderr = stderr;
  }
}

/** What the client said when a statement failed (its stderr, else the spawn error). */
function clientError(error: unknown): SqlClientError {
  const stderr = (error as { stderr?: string }).stderr || (error as Error).message;
  return new SqlClientError(stderr.trim(), stderr);
}

/** A MySQL string literal. */
export function mysqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A PostgreSQL identifier as SQL wants it written: bare when it may be, else double-quoted. */
export function pgIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** Rows of tab-separated fields. */
export type Rows = string[][];

const toRows = (stdout: string): Rows =>
  stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));

export async function postgresQuery(connection: TargetConnection, sql: string): Promise<Rows> {
  const { target, password } = connection;
  const psql = resolveTool(['psql']);
  const args = [pgTargetDbnameArg(target), '--no-password', '-XAtq', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql];
  try {
    const { stdout } = await run(psql.file, [...psql.prefixArgs, ...args], {
      env: toolEnvironment({ ...pgEnvironment(target, password), PGAPPNAME: 'stepvault-doctor' }),
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return toRows(stdout);
  } catch (error) {
    throw clientError(error);
  }
}

export async function mysqlQuery(
  connection: TargetConnection,
  engine: 'mysql' | 'mariadb',
  sql: string,
): Promise<Rows> {
  const { target, password } = connection;
  const tool = mysqlClientTool(engine);
  const flavor = clientFlavor(await toolVersionLine(tool));
  const secretDir = await mkdtemp(path.join(tmpdir(), 'stepvault-'));
  const optionFile = path.join(secretDir, 'client.cnf');
  try {
    await writeFile(optionFile, optionFileText(password, `the password of targets.${target.name}`), { mode: 0o600 });
    const args = [...mysqlClientArgs(target, flavor, optionFile, tool), '--batch', '--skip-column-names', '--raw'];
    const { stdout } = await run(tool.file, [...tool.prefixArgs, ...args, '-e', sql], {
      env: toolEnvironment({}),
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return toRows(stdout);
  } catch (error) {
    throw clientError(error);
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}
