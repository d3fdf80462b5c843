/**
 * PostgreSQL: what a complete pg_dump reads, asked of the server as the target's user. pg_dump
 * locks and reads every table and sequence in its scope (which needs USAGE on the schema and
 * SELECT on the object) and reads every large object (-b). Each missing grant is named, with the
 * GRANT statement that adds it; views need nothing (their definitions come from the catalog).
 */
import type { ConnectedTarget } from '../config/load.ts';
import { postgresQuery, type Rows } from './sql-client.ts';
import type { CheckResult, DoctorContext } from './types.ts';
import { fail, ok } from './types.ts';

const SCOPE_SQL = `
  SELECT 'user', format('%I', current_user), 't', ''
  UNION ALL
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, format('%I.%I', n.nspname, c.relname),
         CASE WHEN CASE c.relkind WHEN 'S' THEN has_sequence_privilege(c.oid, 'SELECT')
              ELSE has_table_privilege(c.oid, 'SELECT') END THEN 't' ELSE 'f' END, n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'S') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'schema', format('%I', n.nspname), CASE WHEN has_schema_privilege(n.oid, 'USAGE') THEN 't' ELSE 'f' END, n.nspname
    FROM pg_namespace n WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
  UNION ALL
  SELECT 'row security', format('%I.%I', n.nspname, c.relname),
         CASE WHEN (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
              OR (pg_has_role(c.relowner, 'USAGE') AND NOT c.relforcerowsecurity) THEN 't' ELSE 'f' END,
         n.nspname || '.' || c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND n.nspname NOT LIKE 'pg\\_%'
  UNION ALL
  SELECT 'large object', m.oid::text,
         CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR current_setting('lo_compat_privileges') = 'on'
              OR pg_has_role(m.lomowner, 'USAGE')
              OR EXISTS (SELECT 1 FROM aclexplode(coalesce(m.lomacl, acldefault('L', m.lomowner))) a
                          WHERE a.privilege_type = 'SELECT' AND (a.grantee = 0 OR pg_has_role(a.grantee, 'USAGE')))
              THEN 't' ELSE 'f' END, ''
    FROM pg_largeobject_metadata m`;

/** A pg_dump name pattern (`*`, `?`, optionally schema-qualified) as a test of `schema.name`. */
export function patternMatcher(pattern: string): (qualified: string) => boolean {
  const regex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
  const dot = pattern.indexOf('.');
  if (dot === -1) {
    const name = regex(pattern);
    return (qualified) => name.test(qualified.slice(qualified.indexOf('.') + 1));
  }
  const whole = regex(pattern);
  return (qualified) => whole.test(qualified);
}

/** Whether pg_dump, with the target's dump options, reads this object (`schema.name`, unquoted). */
export function inDumpScope(target: Pick<ConnectedTarget, 'dump'>, schema: string, qualified: string): boolean {
  const { tables, excludeTables, excludeTableData } = target.dump;
  const any = (patterns: string[] | undefined, text: string) => (patterns ?? []).some((p) => patternMatcher(p)(text));
  if (!scopeHasSchema(target, schema)) return false;
  if (tables && !any(tables, qualified)) return false;
  return !any(excludeTables, qualified) && !any(excludeTableData, qualified);
}

export async function postgresPrivileges(context: DoctorContext): Promise<CheckResult[]> {
  const connection = context.facts.connection!;
  return judgePostgresScope(connection.target, await postgresQuery(connection, SCOPE_SQL));
}

/** The lines for what the server answered: one per kind of object, each naming what is missing. */
export function judgePostgresScope(target: Pick<ConnectedTarget, 'dump'>, rows: Rows): CheckResult[] {
  const user = rows.find((r) => r[0] === 'user')?.[1] ?? 'the user';
  const objects = rows.filter((r) => r[0] !== 'user');
  const inScope = (row: string[]) => {
    if (row[0] === 'large object') return true;
    const [schema = ''] = row[3]!.split('.', 1);
    return row[0] === 'schema' ? scopeHasSchema(target, row[3]!) : inDumpScope(target, schema, row[3]!);
  };
  const scoped = objects.filter(inScope);
  // A schema matters when something in scope sits in it.
  const usedSchemas = new Set(scoped.filter((r) => r[0] !== 'schema').map((r) => r[3]!.split('.', 1)[0]));
  const results: CheckResult[] = [];
  const kinds = [
    { kind: 'schema', label: 'schemas', on: 'SCHEMA', privilege: 'USAGE' },
    { kind: 'table', label: 'tables', on: 'TABLE', privilege: 'SELECT' },
    { kind: 'sequence', label: 'sequences', on: 'SEQUENCE', privilege: 'SELECT' },
    { kind: 'large object', label: 'large objects', on: 'LARGE OBJECT', privilege: 'SELECT' },
  ];
  for (const { kind, label, on, privilege } of kinds) {
    const all = scoped.filter((r) => r[0] === kind && (kind !== 'schema' || usedSchemas.has(r[3]!)));
    const missing = all.filter((r) => r[2] !== 't').map((r) => r[1]!);
    const name = `privileges: ${label}`;
    if (missing.length === 0) {
      results.push(ok(name, all.length === 0 ? `none in the dump's scope` : `${privilege} on all ${all.length}`));
      continue;
    }
    const shown = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
    // Past a screenful of names, one statement per schema says the same.
    const fix =
      missing.length > 20 && (kind === 'table' || kind === 'sequence')
        ? [...new Set(all.filter((r) => r[2] !== 't').map((r) => r[1]!.replace(/\.(?:"(?:[^"]|"")*"|[^.]+)$/, '')))]
            .map((schema) => `GRANT ${privilege} ON ALL ${on}S IN SCHEMA ${schema} TO ${user};`)
            .join(' ')
        : `GRANT ${privilege} ON ${on} ${missing.join(', ')} TO ${user};`;
    results.push(
      fail(
        name,
        `${user} lacks ${privilege} on ${missing.length} of ${all.length} ${label}: ${shown}`,
        kind === 'table' || kind === 'sequence'
          ? `${fix} (or GRANT pg_read_all_data TO ${user}; on PostgreSQL 14+)`
          : fix,
      ),
    );
  }
  results.push(rowSecurity(user, scoped));
  return results;
}

/**
 * pg_dump reads with row_security off and stops at a table whose policies would hide rows from
 * the user (every user but a superuser, one with BYPASSRLS, or the owner of a table that does
 * not FORCE them). pg_read_all_data does not exempt from policies.
 */
function rowSecurity(user: string, scoped: Rows): CheckResult {
  const name = 'privileges: row security';
  const all = scoped.filter((r) => r[0] === 'row security');
  const affected = all.filter((r) => r[2] !== 't').map((r) => r[1]!);
  if (all.length === 0) return ok(name, 'no table in the scope has row-level security');
  if (affected.length === 0) return ok(name, `exempt from the policies of all ${all.length} table(s) that have them`);
  const shown = affected.slice(0, 10).join(', ') + (affected.length > 10 ? ` and ${affected.length - 10} more` : '');
  return fail(
    name,
    `the policies of ${affected.length} table(s) would hide rows from ${user}, and pg_dump stops there: ${shown}`,
    `ALTER ROLE ${user} BYPASSRLS; (as a superuser)`,
  );
}

function scopeHasSchema(target: Pick<ConnectedTarget, 'dump'>, schema: string): boolean {
  const { schemas, excludeSchemas } = target.dump;
  if (schemas && !schemas.some((s) => patternMatcher(s)(`x.${schema}`))) return false;
  return !(excludeSchemas ?? []).some((s) => patternMatcher(s)(`x.${schema}`));
}
