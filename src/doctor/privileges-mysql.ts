/**
 * MySQL and MariaDB: what the dump (--single-transaction --routines --triggers --events) needs,
 * read from the user's own grants (SHOW GRANTS, with its active roles): SELECT, SHOW VIEW,
 * TRIGGER and EVENT on the database, and a privilege that shows routine bodies, which differs by
 * server. Each missing one is a line with the GRANT that adds it. LOCK TABLES is not needed: one
 * transaction's snapshot is what keeps InnoDB tables consistent, and the dump takes no locks.
 */
import { missingReadGrants, parseGrantLine } from '../dumpers/mysql-objects.ts';
import { mysqlQuery, mysqlString, type Rows } from './sql-client.ts';
import type { CheckResult, DoctorContext } from './types.ts';
import { fail, ok } from './types.ts';

export async function mysqlPrivileges(context: DoctorContext): Promise<CheckResult[]> {
  const connection = context.facts.connection!;
  const { target } = connection;
  const literal = mysqlString(target.database);
  const sql = [
    `SELECT '#user', CURRENT_USER(), VERSION()`,
    `SHOW GRANTS`,
    `SELECT '#tables', COUNT(*), COALESCE(SUM(engine <> 'InnoDB'), 0) FROM information_schema.tables WHERE table_schema = ${literal} AND table_type = 'BASE TABLE'`,
  ].join(';\n');
  return judgeMysqlGrants(target.database, await mysqlQuery(connection, target.engine as 'mysql', sql));
}

/** `u@h` as a GRANT names it: `'u'@'h'`. */
export function accountName(currentUser: string): string {
  const at = currentUser.lastIndexOf('@');
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return at === -1 ? quote(currentUser) : `${quote(currentUser.slice(0, at))}@${quote(currentUser.slice(at + 1))}`;
}

/** The statement that lets this server's users read routine bodies. */
export function routineGrant(serverVersion: string, database: string): string {
  const [major = 0, minor = 0, patch = 0] = serverVersion.split(/[.-]/).map(Number);
  const quoted = `\`${database.replace(/`/g, '``')}\`.*`;
  if (/mariadb/i.test(serverVersion))
    return major > 11 || (major === 11 && minor >= 3) ? `SHOW CREATE ROUTINE ON ${quoted}` : 'SELECT ON mysql.proc';
  return major > 8 || (major === 8 && (minor > 0 || patch >= 20)) ? 'SHOW_ROUTINE ON *.*' : 'SELECT ON mysql.proc';
}

export function judgeMysqlGrants(database: string, rows: Rows): CheckResult[] {
  const userRow = rows.find((r) => r[0] === '#user');
  const account = accountName(userRow?.[1] ?? 'the user');
  const serverVersion = userRow?.[2] ?? '';
  const grants = rows.filter((r) => r[0]?.startsWith('GRANT ')).map((r) => r.join('\t'));
  const parsed = grants.map(parseGrantLine).filter((g) => g !== undefined);
  const onDatabase = [`${database}.*`, '*.*'];
  const has = (privilege: string) =>
    parsed.some(
      (g) => onDatabase.includes(g.scope) && g.privileges.some((p) => p === 'ALL PRIVILEGES' || p === privilege),
    );
  const quoted = `\`${database.replace(/`/g, '``')}\`.*`;
  const results: CheckResult[] = [];
  const needs: [privilege: string, why: string][] = [
    ['SELECT', 'to read every table'],
    ['SHOW VIEW', "to dump the views' definitions"],
    ['TRIGGER', 'or the triggers are left out without a word'],
    ['EVENT', 'the dump asks for events and stops without it'],
  ];
  const readable = missingReadGrants(grants, database);
  for (const [privilege, why] of needs) {
    const name = `privileges: ${privilege}`;
    const missing = privilege === 'TRIGGER' ? readable.some((m) => m.kind === 'triggers') : !has(privilege);
    results.push(
      missing
        ? fail(
            name,
            `${account} lacks ${privilege} on ${quoted} (${why})`,
            `GRANT ${privilege} ON ${quoted} TO ${account};`,
          )
        : ok(name, `granted on ${quoted}`),
    );
  }
  results.push(
    readable.some((m) => m.kind === 'routines')
      ? fail(
          'privileges: routines',
          `${account} may not read the bodies of stored procedures and functions; the dump would fail or leave them out`,
          `GRANT ${routineGrant(serverVersion, database)} TO ${account};`,
        )
      : ok('privileges: routines', 'routine definitions are readable'),
  );
  const tables = rows.find((r) => r[0] === '#tables');
  const nonTransactional = Number(tables?.[2] ?? 0);
  results.push(
    ok(
      'privileges: locking',
      `--single-transaction needs no LOCK TABLES${nonTransactional > 0 ? `; ${nonTransactional} non-InnoDB table(s) are read outside the snapshot` : ''}`,
    ),
  );
  return results;
}
