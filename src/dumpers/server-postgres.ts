/**
 * PostgreSQL's part of a whole-server backup: the databases listed from pg_database, and the
 * roles and tablespaces by `pg_dumpall --globals-only`. Role passwords are left out unless
 * globals.rolePasswords asks for them: reading them needs a superuser (RDS refuses even that),
 * and a backup that holds them can log in as every role.
 */
import { ConfigError, DumpError } from '../errors.ts';
import { postgresQuery, SqlClientError } from '../doctor/sql-client.ts';
import { EdgeKeeper } from '../streams/edge-keeper.ts';
import { toolEnvironment } from '../tools/environment.ts';
import { parsePgToolVersion } from '../tools/pg-version.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import type { ConnectedTarget } from '../config/load.ts';
import { classifyPgDumpFailure, pgEnvironment, pgTargetDbnameArg, postgresDumper } from './postgres.ts';
import type { ServerEngine } from './server.ts';
import { runDumpTool } from './stream.ts';

/** The last line pg_dumpall writes: without it, the globals are cut short. */
export const PG_DUMPALL_COMPLETE = '-- PostgreSQL database cluster dump complete';

/**
 * pg_dumpall's arguments: the connection as one quoted --dbname (pg_dumpall takes only its
 * server and user from it) and the database it starts from glued to --database.
 */
export function pgDumpallArgs(target: ConnectedTarget): string[] {
  return [
    pgTargetDbnameArg(target),
    `--database=${target.database}`,
    '--no-password',
    '--globals-only',
    ...(target.globals?.rolePasswords ? [] : ['--no-role-passwords']),
  ];
}

/** Names travel hex-encoded: a database name may hold a tab or a newline. */
const LIST_SQL = `SELECT encode(convert_to(datname, 'UTF8'), 'hex') FROM pg_database WHERE datallowconn ORDER BY datname`;

export const postgresServer: ServerEngine = {
  member: postgresDumper,

  async listDatabases(target, password) {
    try {
      const rows = await postgresQuery({ target, ...(password !== undefined && { password }) }, LIST_SQL);
      return rows.map(([hex]) => Buffer.from(hex ?? '', 'hex').toString('utf8'));
    } catch (error) {
      if (!(error instanceof SqlClientError)) throw error;
      throw classifyPgDumpFailure(error.stderr, target, 'unknown');
    }
  },

  async dumpGlobals(target, password, file) {
    const tool = resolveTool(['pg_dumpall']);
    const version = parsePgToolVersion(await toolVersionLine(tool));
    const edges = new EdgeKeeper(0, 512);
    await runDumpTool({
      tool,
      args: pgDumpallArgs(target),
      env: toolEnvironment(pgEnvironment(target, password)),
      sink: { file },
      transforms: [edges],
      async check(run) {
        if (run.signal)
          throw new DumpError(`pg_dumpall of ${target.name} was killed by ${run.signal}; nothing was published`);
        if (run.exitCode !== 0) {
          if (/permission denied for (table|relation) pg_authid/.test(run.stderr))
            throw new ConfigError(
              `pg_dumpall of ${target.name} may not read the role passwords (pg_authid needs a superuser; RDS never allows it): set targets.${target.name}.globals.rolePasswords: false`,
            );
          throw classifyPgDumpFailure(run.stderr.replace(/pg_dumpall/g, 'pg_dump'), target, version);
        }
        if (!edges.tailText().includes(PG_DUMPALL_COMPLETE))
          throw new DumpError(
            `the roles of ${target.name} are incomplete: pg_dumpall exited 0 but did not write "${PG_DUMPALL_COMPLETE}"; nothing was published`,
          );
      },
    });
    return { tool: { name: 'pg_dumpall', version } };
  },
};
