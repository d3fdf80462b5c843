/** `targets.<name>`: a database, how it is reached and dumped, and where its backups go. */
import * as z from 'zod';
import type { DumpOptionName } from '../../engines/types.ts';
import {
  engineForScheme,
  engineInfo,
  ENGINES,
  restorableSchemes,
  restoreFamilyOf,
  serverWrites,
} from '../../engines/registry.ts';
import { mssqlOptionsSchema } from '../../engines/mssql.ts';
import { fargateSchema } from './fargate.ts';
import { host, name, secretReference, timezone, toolName } from './fields.ts';
import { retentionSchema } from './retention.ts';
import { runnerAutoSchema, runnerSchema } from './runner.ts';
import { scheduleSchema } from './schedule.ts';

export const tlsSchema = z.strictObject({
  /** As libpq's sslmode; applied to MySQL and MariaDB clients with the same meaning. */
  mode: z.enum(['disable', 'prefer', 'require', 'verify-ca', 'verify-full']).default('prefer'),
  /** A CA bundle file (e.g. the RDS global bundle) for verify-ca and verify-full. */
  ca: z.string().min(1).optional(),
});

export const dumpOptionsSchema = z.strictObject({
  /** PostgreSQL: only these schemas (large objects are still included). */
  schemas: z.array(toolName(256)).optional(),
  /** PostgreSQL: leave these schemas out. */
  excludeSchemas: z.array(toolName(256)).optional(),
  /** Only these tables (PostgreSQL patterns, or MySQL table names). */
  tables: z.array(toolName(256)).optional(),
  /** Leave these tables out. */
  excludeTables: z.array(toolName(256)).optional(),
  /** PostgreSQL: keep these tables' definitions but not their rows. */
  excludeTableData: z.array(toolName(256)).optional(),
  /** PostgreSQL: leave ownership out of the dump. */
  noOwner: z.boolean().optional(),
  /** MySQL/MariaDB: how the SQL is compressed in-process; PostgreSQL uses its own format's. */
  compression: z.enum(['gzip', 'zstd']).optional(),
  /** 0-9 for gzip and PostgreSQL, 1-19 for zstd. */
  compressionLevel: z.int().min(0).max(19).optional(),
});

const DRILL_SCHEMES = restorableSchemes().join('|');

export const targetSchema = z
  .strictObject({
    engine: z.enum(ENGINES),
    host,
    port: z.int().min(1).max(65535).optional(),
    database: toolName(128),
    user: toolName(128).optional(),
    password: secretReference.optional(),
    /** RDS IAM authentication: a 15-minute token signed with the function's role instead of a password. */
    iamAuth: z.boolean().optional(),
    tls: tlsSchema.optional(),
    dump: dumpOptionsSchema.optional(),
    schedule: scheduleSchema.optional(),
    /** SQL Server's own section (src/engines/mssql.ts). */
    mssql: mssqlOptionsSchema.optional(),
    verify: z
      .strictObject({
        /** Download every stored dump again and hash it (by default: size and manifest only). */
        download: z.boolean().optional(),
        /** Restore each backup into a scratch database and compare rows per table with the dump. */
        drill: z
          .strictObject({
            /** The scratch server, as a URL; the database part is a prefix for the scratch database's name. */
            into: z
              .string()
              .regex(
                new RegExp(`^(${DRILL_SCHEMES}):\\/\\/[^/\\s]+\\/[A-Za-z0-9_]+$`),
                'must be a URL like postgres://user@scratch-host:5432/stepvault_drill (the path names the scratch database prefix)',
              )
              .refine((v) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(v), {
                message:
                  'must not carry a password (it would sit in the config in plain text); write the URL without it and set verify.drill.password: env:NAME (or ssm:/path, secretsmanager:ARN#key)',
              }),
            password: secretReference.optional(),
          })
          .optional(),
      })
      .optional(),
    timezone: timezone.optional(),
    staging: z.string().min(1).optional(),
    destinations: z.array(name).min(1).optional(),
    notify: z.array(name).optional(),
    retention: retentionSchema.optional(),
    /** The ECS task's size when the dump runs on fargate. */
    fargate: fargateSchema.optional(),
    /** Where the dump runs: lambda, efs, fargate or auto; by default as src/runners/default.ts decides. */
    runner: runnerSchema.optional(),
    runnerAuto: runnerAutoSchema.optional(),
  })
  .superRefine((target, ctx) => {
    const dump = target.dump ?? {};
    const written = serverWrites(target);
    if (written && target.verify?.drill) {
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'drill'],
        message: `is not available in ${written.mode}: the backup never passes through staging`,
      });
    }
    checkEngineOptions(target, ctx);
    if (target.iamAuth && target.password !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['iamAuth'],
        message: 'and password exclude each other: IAM authentication signs a token in place of the password',
      });
    }
    if (target.iamAuth && target.tls?.mode === 'disable') {
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'mode'],
        message: 'cannot be disable with iamAuth: RDS accepts IAM tokens only over TLS',
      });
    }
    if (target.iamAuth && !target.user) {
      ctx.addIssue({
        code: 'custom',
        path: ['user'],
        message: 'is required with iamAuth: the token is for one database user',
      });
    }
    const level = dump.compressionLevel;
    if (level !== undefined && level > 9 && dump.compression !== 'zstd') {
      ctx.addIssue({
        code: 'custom',
        path: ['dump', 'compressionLevel'],
        message: 'must be 0-9 (only zstd goes to 19)',
      });
    }
  });

export type TlsOptions = z.output<typeof tlsSchema>;
export type DumpOptions = z.output<typeof dumpOptionsSchema>;
export type VerifyConfig = NonNullable<z.output<typeof targetSchema>['verify']>;
export type MssqlOptions = z.output<typeof mssqlOptionsSchema>;

/** What only some engines read (dump.* options, the engine's own section, the drill) on an engine that does not. */
function checkEngineOptions(target: z.output<typeof targetSchema>, ctx: z.RefinementCtx): void {
  const info = engineInfo(target.engine);
  if (info.section && target[info.section] === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [info.section],
      message:
        'is required for engine mssql: say where SQL Server writes the backup, as it sees the staging share (mssql: { sharePath: "\\\\fileserver\\stepvault" })',
    });
  }
  if (target.mssql !== undefined && info.section !== 'mssql') {
    ctx.addIssue({ code: 'custom', path: ['mssql'], message: `does not apply to engine ${target.engine}; remove it` });
  }
  for (const [key, value] of Object.entries(target.dump ?? {}) as [DumpOptionName, unknown][]) {
    if (value === undefined || info.dumpOptions.includes(key)) continue;
    const fix = info.dumpOptionFixes?.[key] ?? 'remove it';
    ctx.addIssue({ code: 'custom', path: ['dump', key], message: `does not apply to engine ${target.engine}; ${fix}` });
  }
  const drill = target.verify?.drill;
  if (drill && !serverWrites(target)) {
    const family = restoreFamilyOf(target.engine);
    const scheme = /^([a-z]+):/.exec(drill.into)?.[1];
    const intoEngine = scheme === undefined ? undefined : engineForScheme(scheme);
    if (!family) {
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'drill'],
        message: `is not available for engine ${target.engine}: only ${info.label} itself restores its backups; remove it`,
      });
    } else if (intoEngine && restoreFamilyOf(intoEngine) !== family) {
      const schemes = ENGINES.filter((e) => restoreFamilyOf(e) === family).flatMap((e) => engineInfo(e).urlSchemes);
      ctx.addIssue({
        code: 'custom',
        path: ['verify', 'drill', 'into'],
        message: `is a ${engineInfo(intoEngine).label} server, but this target is ${info.label}; restore into a server of its kind (${schemes.map((s) => `${s}://`).join(', ')})`,
      });
    }
  }
}
