/**
 * MariaDB's part of a whole-server backup: the databases from information_schema, and the users,
 * roles and grants by `mariadb-dump --system=users --insert-ignore`, which writes `CREATE USER IF
 * NOT EXISTS` and the grants, so restoring onto a server that has some of them already adds the
 * rest instead of stopping. The users keep the password hashes the server stores.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DumpError } from '../errors.ts';
import { mysqlQuery, SqlClientError } from '../doctor/sql-client.ts';
import { EdgeKeeper } from '../streams/edge-keeper.ts';
import { toolEnvironment } from '../tools/environment.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import type { ConnectedTarget } from '../config/load.ts';
import {
  classifyMysqlDumpFailure,
  clientFlavor,
  COMPLETION_MARK,
  MYSQL_DUMP_TOOLS,
  mysqlClientArgs,
  mysqlDumper,
  optionFileText,
  parseMysqlToolVersion,
} from './mysql.ts';
import type { ServerEngine } from './server.ts';
import { runDumpTool } from './stream.ts';
import type { ToolCommand } from '../tools/resolver.ts';
import type { ClientFlavor } from './mysql.ts';

/** mariadb-dump's arguments for the users and grants, after the option file that carries the password. */
export function mariadbUsersArgs(
  target: ConnectedTarget,
  flavor: ClientFlavor,
  optionFile: string,
  tool: ToolCommand,
): string[] {
  return [...mysqlClientArgs(target, flavor, optionFile, tool), '--system=users', '--insert-ignore'];
}

/** Names travel hex-encoded: a database name may hold a tab or a newline. */
const LIST_SQL = 'SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME';

/** Every database of a MySQL or MariaDB server, by its own client. */
export async function listMysqlDatabases(
  target: ConnectedTarget,
  password: string | undefined,
  engine: 'mysql' | 'mariadb',
): Promise<string[]> {
  try {
    const rows = await mysqlQuery({ target, ...(password !== undefined && { password }) }, engine, LIST_SQL);
    return rows.map(([hex]) => Buffer.from(hex ?? '', 'hex').toString('utf8'));
  } catch (error) {
    if (!(error instanceof SqlClientError)) throw error;
    throw classifyMysqlDumpFailure(error.stderr, target);
  }
}

export const mariadbServer: ServerEngine = {
  member: mysqlDumper('mariadb'),

  listDatabases: (target, password) => listMysqlDatabases(target, password, 'mariadb'),

  async dumpGlobals(target, password, file) {
    const tool = resolveTool(MYSQL_DUMP_TOOLS.mariadb);
    const versionLine = await toolVersionLine(tool);
    const flavor = clientFlavor(versionLine);
    if (flavor !== 'mariadb')
      throw new DumpError(
        `${tool.name} in ${tool.origin} is MySQL's; the users and grants of ${target.name} need MariaDB's mariadb-dump (10.5 or newer, --system=users): deploy the dbtools layer or install mariadb-client`,
      );
    const secretDir = await mkdtemp(path.join(tmpdir(), 'stepvault-'));
    const optionFile = path.join(secretDir, 'client.cnf');
    const edges = new EdgeKeeper(0, 512);
    try {
      await writeFile(optionFile, optionFileText(password, `the password of targets.${target.name}`), { mode: 0o600 });
      await runDumpTool({
        tool,
        args: mariadbUsersArgs(target, flavor, optionFile, tool),
        env: toolEnvironment({}),
        sink: { file },
        transforms: [edges],
        async check(run) {
          if (run.signal)
            throw new DumpError(`${tool.name} of ${target.name} was killed by ${run.signal}; nothing was published`);
          if (/unknown (option|variable).*system/i.test(run.stderr))
            throw new DumpError(
              `${tool.name} in ${tool.origin} cannot dump users and grants (--system=users needs mariadb-dump 10.5 or newer): deploy the dbtools layer or a newer mariadb-client`,
            );
          if (run.exitCode !== 0) throw classifyMysqlDumpFailure(run.stderr, { ...target, database: 'mysql' });
          if (!edges.tailText().includes(COMPLETION_MARK))
            throw new DumpError(
              `the users and grants of ${target.name} are incomplete: ${tool.name} exited 0 but did not write "${COMPLETION_MARK}"; nothing was published`,
            );
        },
      });
    } finally {
      await rm(secretDir, { recursive: true, force: true });
    }
    return { tool: { name: tool.name, version: parseMysqlToolVersion(versionLine) } };
  },
};
