/**
 * The login works: the target's user signs in with its password (or IAM token) over the
 * configured TLS mode, and the server says its version, which the dump tool check reads.
 * SQL Server is not probed here: its driver is not a client tool, and `stepvault run` says.
 */
import { classifyMysqlDumpFailure } from '../dumpers/mysql.ts';
import { classifyPgDumpFailure } from '../dumpers/postgres.ts';
import { engineInfo } from '../engines/registry.ts';
import { connectTarget } from '../steps/target-connection.ts';
import { mysqlQuery, mysqlString, pgIdentifier, postgresQuery, SqlClientError } from './sql-client.ts';
import type { Check, DoctorContext } from './types.ts';
import { fail, ok, skip } from './types.ts';

export const SQL_SERVER_SKIP =
  'not checked for SQL Server: doctor asks PostgreSQL and MySQL/MariaDB only; `stepvault run` checks the login, BACKUP DATABASE and the share';

export const loginCheck: Check = {
  id: 'login',
  name: 'login',
  needs: ['tls'],
  async run(context) {
    if (context.target.engine === 'mssql') return [skip('login', SQL_SERVER_SKIP)];
    // The password (or IAM token) now: the checks before needed only where the server is.
    const connection = await connectTarget(context.target, context.secrets);
    context.facts.connection = connection;
    const { target } = connection;
    const as = `${target.user ?? engineInfo(target.engine).defaultUser}@${target.host}:${target.port}/${target.database}`;
    try {
      if (target.engine === 'postgres') {
        const [row] = await postgresQuery(connection, `SELECT current_setting('server_version'), current_user`);
        context.facts.serverVersion = row?.[0]?.split(' ')[0] ?? 'unknown';
        return [ok('login', `${as} logged in as ${row?.[1]}; PostgreSQL ${context.facts.serverVersion}`)];
      }
      const literal = mysqlString(target.database);
      const [row] = await mysqlQuery(
        connection,
        target.engine as 'mysql' | 'mariadb',
        `SELECT VERSION(), CURRENT_USER(), (SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ${literal})`,
      );
      context.facts.serverVersion = row?.[0] ?? 'unknown';
      // The MySQL family logs in to the server, not to a database: whether the dump's database is
      // there (and visible to the user, which needs a privilege on it) is asked apart.
      if (row?.[2] === '0') {
        return [
          fail(
            'login',
            `${as}: logged in as ${row?.[1]}, but database ${target.database} does not exist or ${row?.[1]} has no privilege on it`,
            `check targets.${target.name}.database, or GRANT SELECT ON \`${target.database.replace(/`/g, '``')}\`.* TO the user`,
          ),
        ];
      }
      return [ok('login', `${as} logged in as ${row?.[1]}; server ${context.facts.serverVersion}`)];
    } catch (error) {
      if (!(error instanceof SqlClientError)) throw error;
      const [detail, fix] = loginProblem(context, error.stderr);
      return [fail('login', detail, fix)];
    }
  },
};

/** The engine's own words for why the client could not get in, as a failed dump would say, and what to change. */
function loginProblem({ facts }: DoctorContext, stderr: string): [detail: string, fix: string] {
  const { target } = facts.connection!;
  const detail =
    target.engine === 'postgres'
      ? classifyPgDumpFailure(stderr, target, '').message
      : classifyMysqlDumpFailure(stderr, target).message;
  if (/database "[^"]*" does not exist|Unknown database|\b1049\b/.test(stderr))
    return [detail, `check targets.${target.name}.database: the database must exist`];
  if (/permission denied for database/.test(stderr)) {
    const user = target.user ?? engineInfo(target.engine).defaultUser;
    return [detail, `GRANT CONNECT ON DATABASE ${pgIdentifier(target.database)} TO ${pgIdentifier(user)};`];
  }
  return [detail, `check user and password of targets.${target.name}`];
}
