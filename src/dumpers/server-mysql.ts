/**
 * MySQL's part of a whole-server backup. MySQL has no `mysqldump --system=users` (MariaDB's reads
 * MariaDB's own mysql.global_priv), so the users, roles and grants are asked of the server the way
 * MySQL documents it: `SHOW CREATE USER` (with the stored password hash, in hex) and `SHOW GRANTS`
 * for every account but the server's own reserved ones, written as a SQL file that MySQL's client
 * loads. `CREATE USER IF NOT EXISTS` lets a restore onto a server that has some of them add the rest.
 */
import { writeFile } from 'node:fs/promises';
import { DumpError } from '../errors.ts';
import { mysqlQuery, SqlClientError } from '../doctor/sql-client.ts';
import { mysqlClientTool } from './mysql.ts';
import { classifyMysqlDumpFailure, COMPLETION_MARK, mysqlDumper, parseMysqlToolVersion } from './mysql.ts';
import { listMysqlDatabases } from './server-mariadb.ts';
import type { ServerEngine } from './server.ts';
import { toolVersionLine } from '../tools/resolver.ts';

/** Accounts the server makes for itself: they exist on every MySQL server and are not the user's. */
const RESERVED_ACCOUNTS = ['mysql.sys', 'mysql.session', 'mysql.infoschema'];

/** A string as a MySQL string literal (the default sql_mode: backslash escapes on). */
export function mysqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
}

/** `CREATE USER` as SHOW CREATE USER writes it, made safe to run where the account may exist. */
export function createUserIfMissing(statement: string): string {
  return statement.replace(/^CREATE USER /, 'CREATE USER IF NOT EXISTS ');
}

const ACCOUNTS_SQL = `SELECT HEX(User), HEX(Host) FROM mysql.user WHERE User NOT IN (${RESERVED_ACCOUNTS.map(mysqlString).join(', ')}) ORDER BY User, Host`;

export const mysqlServer: ServerEngine = {
  member: mysqlDumper('mysql'),

  listDatabases: (target, password) => listMysqlDatabases(target, password, 'mysql'),

  async dumpGlobals(target, password, file) {
    const connection = { target: { ...target, database: 'mysql' }, ...(password !== undefined && { password }) };
    const ask = async (sql: string) => {
      try {
        return await mysqlQuery(connection, 'mysql', sql);
      } catch (error) {
        if (!(error instanceof SqlClientError)) throw error;
        throw classifyMysqlDumpFailure(error.stderr, { ...target, database: 'mysql' });
      }
    };
    const accounts = (await ask(ACCOUNTS_SQL)).map(([user, host]) => ({
      user: Buffer.from(user ?? '', 'hex').toString('utf8'),
      host: Buffer.from(host ?? '', 'hex').toString('utf8'),
    }));
    const lines = [`-- Users, roles and grants of ${target.name}, as the server showed them`, ''];
    for (const { user, host } of accounts) {
      const account = `${mysqlString(user)}@${mysqlString(host)}`;
      // Hex keeps a password hash that holds any byte intact through the client's text output.
      const [create] = await ask(`SET SESSION print_identified_with_as_hex = ON; SHOW CREATE USER ${account}`);
      if (!create?.[0])
        throw new DumpError(`SHOW CREATE USER ${account} on ${target.name} returned nothing; nothing was published`);
      lines.push(`${createUserIfMissing(create[0])};`);
      for (const [grant] of await ask(`SHOW GRANTS FOR ${account}`)) if (grant) lines.push(`${grant};`);
    }
    lines.push('', `${COMPLETION_MARK} (${accounts.length} accounts)`, '');
    await writeFile(file, lines.join('\n'), { mode: 0o600 });
    const client = mysqlClientTool('mysql');
    return { tool: { name: client.name, version: parseMysqlToolVersion(await toolVersionLine(client)) } };
  },
};
