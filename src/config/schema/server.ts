/**
 * `targets.<name>.databases` and `globals`: a whole server in one run (see README, "Backing up a
 * whole server"). What cannot go with it is refused here, with the fix.
 */
import * as z from 'zod';
import { engineInfo, type Engine } from '../../engines/registry.ts';
import { toolName } from './fields.ts';

/** `all`, or the databases by name (each checked like any name a tool is given). */
export const databasesSchema = z.union([
  z.literal('all'),
  z
    .array(toolName(128))
    .min(1, 'is empty: name at least one database, or write databases: all')
    .refine((names) => new Set(names).size === names.length, { message: 'names a database twice' }),
]);

export const globalsSchema = z.strictObject({
  /**
   * PostgreSQL: keep the roles' password hashes in the globals (pg_dumpall without
   * --no-role-passwords). Off by default: reading them needs a superuser, and a backup that holds
   * them can log in as every role.
   */
  rolePasswords: z.boolean().optional(),
});

interface ServerFields {
  engine: Engine;
  database?: string | undefined;
  databases?: 'all' | string[] | undefined;
  globals?: { rolePasswords?: boolean | undefined } | undefined;
  dump?: { jobs?: number | undefined; tables?: string[] | undefined; schemas?: string[] | undefined } | undefined;
  verify?: { drill?: unknown } | undefined;
}

export function checkServerTarget(target: ServerFields, ctx: z.RefinementCtx): void {
  if (target.databases === undefined) {
    if (target.globals !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['globals'],
        message: 'applies only with databases (a whole server); remove it, or back up the server with databases: all',
      });
    return;
  }
  const info = engineInfo(target.engine);
  if (!info.wholeServer) {
    const why = `${info.label} backs up one database at a time`;
    ctx.addIssue({
      code: 'custom',
      path: ['databases'],
      message: `does not apply to engine ${target.engine}: ${why}; give one database with database:, one target per database`,
    });
    return;
  }
  if (target.database !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['databases'],
      message:
        'and database exclude each other: database backs up one database, databases a whole server (all, or a list); keep one',
    });
  if (target.globals?.rolePasswords !== undefined && target.engine !== 'postgres')
    ctx.addIssue({
      code: 'custom',
      path: ['globals', 'rolePasswords'],
      message: `is PostgreSQL's: ${info.label}'s users are dumped with the password hashes the server keeps (mariadb-dump --system=users); remove it`,
    });
  if ((target.dump?.jobs ?? 1) > 1)
    ctx.addIssue({
      code: 'custom',
      path: ['dump', 'jobs'],
      message: `is ${target.dump?.jobs}, but with databases each database is dumped in one stream, one after the other; set dump.jobs: 1, or back up the large database in a target of its own`,
    });
  for (const key of ['tables', 'schemas'] as const)
    if (target.dump?.[key] !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['dump', key],
        message: `cannot go with databases: it would apply to every database of the server; back up those ${key} in a target with database: instead`,
      });
}
