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
import { COMPRESSION_METHODS, compressionProblem, isCompressingEngine } from '../../engines/compression.ts';
import { mssqlOptionsSchema } from '../../engines/mssql.ts';
import { transactionPoolerProblem } from '../connection-url.ts';
import { alertsSchema } from './alerts.ts';
import { encryptionSchema } from './encryption.ts';
import { fargateSchema } from './fargate.ts';
import { host, name, secretReference, timezone, toolName } from './fields.ts';
import { retentionSchema } from './retention.ts';
import { runnerAutoSchema, runnerSchema } from './runner.ts';
import { scheduleSchema } from './schedule.ts';
import { checkServerTarget, databasesSchema, globalsSchema } from './server.ts';

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
  /**
   * How the dump is compressed: PostgreSQL zstd, lz4, gzip or none (pg_dump's own, inside its
   * archive); MySQL/MariaDB zstd, gzip or none (in-process). Default: src/engines/compression.ts.
   */
  compression: z.enum(COMPRESSION_METHODS).optional(),
  /** zstd 1-19, lz4 1-12, gzip 0-9 (checked per method below); alone, the level is gzip's, as it always was. */
  compressionLevel: z.int().optional(),
  /**
   * PostgreSQL: how many tables pg_dump dumps at once. 1 (the default) streams one custom-format
   * archive; 2 or more writes pg_dump's directory format with --jobs into local scratch space
   * (efs: the staging folder; fargate: the task's ephemeral storage), stored as one tar object.
   */
  jobs: z
    .int()
    .min(1, 'must be at least 1 (1 dumps in one stream; 2 or more dump tables in parallel)')
    .max(32, 'must be at most 32: each worker is one more connection to the database and one more core busy')
    .optional(),
});

const DRILL_SCHEMES = restorableSchemes().join('|');

export const targetSchema = z
  .strictObject({
    engine: z.enum(ENGINES),
    /**
     * The whole connection as a URL (postgres://user:password@host:5432/db?sslmode=require), as a
     * secret reference: resolved at run time, by the steps that connect. host, port, database, user
     * and tls may stand beside it only if they agree with it.
     */
    url: secretReference.optional(),
    host: host.optional(),
    port: z.int().min(1).max(65535).optional(),
    database: toolName(128).optional(),
    /** A whole server instead of one database: `all` or a list (src/config/schema/server.ts). */
    databases: databasesSchema.optional(),
    /** With databases: what the server's roles (PostgreSQL) hold. */
    globals: globalsSchema.optional(),
    /** Settings a kind of server needs: `supabase` leaves out the schemas Supabase manages. */
    preset: z.enum(['supabase']).optional(),
    user: toolName(128).optional(),
    password: secretReference.optional(),
    /** RDS IAM authentication: a 15-minute token signed with the function's role instead of a password. */
    iamAuth: z.boolean().optional(),
    /**
     * With iamAuth, the RDS instance's resource id (DbiResourceId, `db-…`) or the Aurora cluster's
     * (DbClusterResourceId, `cluster-…`): the deployed role may sign tokens for this database only.
     */
    rdsResourceId: z
      .string()
      .regex(
        /^(db|cluster)-[A-Z0-9]{1,64}$/,
        "is not an RDS resource id: give the instance's DbiResourceId (db-ABCDEFGHIJKLMNOPQRSTUVWXY0) or the Aurora cluster's DbClusterResourceId (cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0), not its name or ARN",
      )
      .optional(),
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
            /**
             * An age identity (AGE-SECRET-KEY-1…, or a passphrase for a passphrase-encrypted
             * target), as a secret reference only the Verify function may read: what lets the
             * drill restore an encrypted backup. Without it, an encrypted backup's drill is skipped.
             */
            identity: secretReference.optional(),
          })
          .optional(),
      })
      .optional(),
    timezone: timezone.optional(),
    staging: z.string().min(1).optional(),
    destinations: z.array(name).min(1).optional(),
    notify: z.array(name).optional(),
    retention: retentionSchema.optional(),
    /** Warnings about a backup that succeeded but differs from the previous one (src/backups/size-anomaly.ts). */
    alerts: alertsSchema.optional(),
    /** The ECS task's size when the dump runs on fargate. */
    fargate: fargateSchema.optional(),
    /** Where the dump runs: lambda, efs, fargate or auto; by default as src/runners/default.ts decides. */
    runner: runnerSchema.optional(),
    runnerAuto: runnerAutoSchema.optional(),
    /** The dump encrypted with age before anything is written (replaces defaults.encryption whole). */
    encryption: encryptionSchema.optional(),
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
    checkConnection(target, ctx);
    checkServerTarget(target, ctx);
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
    if (target.rdsResourceId !== undefined && !target.iamAuth) {
      ctx.addIssue({
        code: 'custom',
        path: ['rdsResourceId'],
        message: 'applies only with iamAuth: true (it names the database the IAM login is granted on); remove it',
      });
    }
    if (target.iamAuth && !target.user) {
      ctx.addIssue({
        code: 'custom',
        path: ['user'],
        message: 'is required with iamAuth: the token is for one database user',
      });
    }
    const compression = isCompressingEngine(target.engine) ? compressionProblem(target.engine, dump) : undefined;
    if (compression) ctx.addIssue({ code: 'custom', path: ['dump', compression.key], message: compression.message });
  });

export type TlsOptions = z.output<typeof tlsSchema>;
export type DumpOptions = z.output<typeof dumpOptionsSchema>;
export type VerifyConfig = NonNullable<z.output<typeof targetSchema>['verify']>;
export type MssqlOptions = z.output<typeof mssqlOptionsSchema>;

/** host and database, or a url; and what a url or a preset cannot go with. */
function checkConnection(target: z.output<typeof targetSchema>, ctx: z.RefinementCtx): void {
  const info = engineInfo(target.engine);
  // Without url, host and database are required: configSchema says so, naming the target.
  if (target.url !== undefined && !info.restoreFamily) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message: `does not apply to engine ${target.engine}; give host, port, database and user`,
    });
  } else if (target.url !== undefined && target.iamAuth) {
    ctx.addIssue({
      code: 'custom',
      path: ['url'],
      message:
        'and iamAuth exclude each other: the token is signed for a host and user the config names; give host, port and user',
    });
  }
  const pooler = target.host === undefined ? undefined : transactionPoolerProblem(target.host, target.port);
  if (pooler) ctx.addIssue({ code: 'custom', path: ['port'], message: pooler });
  if (target.preset === 'supabase' && target.engine !== 'postgres') {
    ctx.addIssue({
      code: 'custom',
      path: ['preset'],
      message: `supabase applies to engine postgres (Supabase is PostgreSQL), not ${target.engine}; remove it`,
    });
  }
}

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
