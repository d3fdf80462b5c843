/**
 * The shape of stepvault.config.yml. Unknown keys are rejected everywhere (a typo must not
 * silently disable an option), and every message names the path of what is wrong.
 */
import { z } from 'zod';
import type { DumpOptionName } from '../engines/types.ts';
import { isValidFileMode } from '../storage/file-mode.ts';
import { validateSchedule } from '../deploy/schedule.ts';
import {
  isSecretReference,
  looksLikeSecretReference,
  SECRET_REFERENCE_HELP,
  secretReferenceProblem,
} from './secrets.ts';
import { LAMBDA_MAX_TIMEOUT_SECONDS, STEP_NAMES } from '../steps/table.ts';
import {
  engineForScheme,
  engineInfo,
  ENGINES,
  restorableSchemes,
  restoreFamilyOf,
  serverWrites,
  type Engine,
} from '../engines/registry.ts';
import { mssqlOptionsSchema } from '../engines/mssql.ts';

export { ENGINES, type Engine };

const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
    'use letters, digits, "-" and "_" (at most 63), starting with a letter or digit',
  );

/**
 * A name handed to a database tool (database, user, table or schema pattern). It may hold
 * anything the database allows except a leading "-": some tools would take it for an option.
 */
const toolName = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, `is longer than ${max} characters; no database allows a name that long`)
    .refine((v) => !v.startsWith('-'), {
      message: 'must not start with "-": a database tool would read it as an option; rename it, or leave it out',
    });

/** A host name, IP address ([::1] for IPv6) or a PostgreSQL socket folder. */
const host = z
  .string()
  .min(1)
  .max(253, 'is longer than 253 characters, the longest a host name can be')
  .regex(
    /^(?!-)[A-Za-z0-9._:%/[\]-]+$/,
    'must be a host name, an IP address or a socket folder: letters, digits and . - _ : [ ] / only, not starting with "-"',
  );

/** A folder inside a destination: relative, and never climbing out of it. */
const prefix = z
  .string()
  .max(512, 'is longer than 512 characters; use a shorter folder')
  .refine((v) => !v.startsWith('/') && !v.split(/[/\\]/).includes('..'), {
    message:
      'must stay inside the destination: a relative folder such as "db" or "backups/prod", without ".." and not starting with "/"',
  });

const secretReference = z
  .string()
  .refine(looksLikeSecretReference, {
    message: `must be a secret reference (${SECRET_REFERENCE_HELP}), never the secret itself`,
    abort: true,
  })
  .superRefine((value, ctx) => {
    const problem = secretReferenceProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const timezone = z.string().refine(isKnownTimezone, {
  message: 'is not an IANA time zone; use a name such as UTC, Europe/Lisbon or America/New_York',
});

export const retentionSchema = z
  .strictObject({
    keepLast: z.int().min(1).optional(),
    daily: z.int().min(0).optional(),
    weekly: z.int().min(0).optional(),
    monthly: z.int().min(0).optional(),
    yearly: z.int().min(0).optional(),
    maxAgeDays: z.int().min(1).optional(),
  })
  .refine((r) => Object.values(r).some((v) => v !== undefined), {
    message: 'says nothing: set keepLast, daily, weekly, monthly, yearly or maxAgeDays',
  });

export const scheduleSchema = z
  .strictObject({
    cron: z.string().min(1).optional(),
    rate: z.string().min(1).optional(),
    timezone: timezone.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((s) => (s.cron === undefined) !== (s.rate === undefined), {
    message: 'needs exactly one of cron (e.g. "0 3 * * ? *") or rate (e.g. "12 hours")',
    abort: true,
  })
  .superRefine((schedule, ctx) => {
    // The deployment would refuse it at packaging time; say so at load time, where it is cheap.
    const marker = '\u0000';
    try {
      validateSchedule(schedule, marker);
    } catch (error) {
      const field = schedule.cron !== undefined ? 'cron' : 'rate';
      const message = (error as Error).message.replace(`${marker}.${field}`, '').replace(/^:?\s*/, '');
      ctx.addIssue({ code: 'custom', path: [field], message });
    }
  });

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

export const filesystemDestinationSchema = z.strictObject({
  type: z.literal('filesystem'),
  path: z.string().min(1),
  prefix: prefix.optional(),
  required: z.boolean().optional(),
  /** Permissions of the files written (folders get the matching search bits); owner-only by default. */
  mode: z
    .string()
    .refine(isValidFileMode, {
      message:
        'must be a file mode the owner can read and write, and nobody execute, as an octal string: "0600" (the default), "0640" or "0660"',
    })
    .optional(),
});

const endpoint = z.string().refine((v) => /^https?:\/\/[^/\s]+/.test(v), {
  message: 'must start with http:// or https:// (e.g. https://s3.eu-central-003.backblazeb2.com)',
});

/** Upload tuning shared by the S3-speaking destinations. */
const transferOptions = {
  /** Part size of multipart uploads; by default chosen from the file size (8 MiB or more). */
  partSizeMB: z.int().min(5).max(5120).optional(),
  /** Parts in flight at once. */
  concurrency: z.int().min(1).max(16).optional(),
  required: z.boolean().optional(),
  prefix: prefix.optional(),
};

export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
  'REDUCED_REDUNDANCY',
] as const;

export const s3DestinationSchema = z
  .strictObject({
    type: z.literal('s3'),
    bucket: z.string().min(1),
    region: z.string().min(1).optional(),
    /** Any S3-compatible service (MinIO, Backblaze B2, DigitalOcean Spaces, Supabase Storage). */
    endpoint: endpoint.optional(),
    forcePathStyle: z.boolean().optional(),
    accessKeyId: secretReference.optional(),
    secretAccessKey: secretReference.optional(),
    sse: z.enum(['AES256', 'aws:kms']).optional(),
    kmsKeyId: z.string().min(1).optional(),
    storageClass: z.enum(S3_STORAGE_CLASSES).optional(),
    /**
     * false for an S3-compatible store that ignores If-None-Match: stepvault then checks with a HEAD before writing.
     */
    conditionalWrites: z.boolean().optional(),
    ...transferOptions,
  })
  .superRefine((d, ctx) => {
    if (d.sse === 'aws:kms' && !d.kmsKeyId) {
      ctx.addIssue({
        code: 'custom',
        path: ['kmsKeyId'],
        message: 'is required with sse: aws:kms; give a key id, key ARN or alias/name',
      });
    }
    if (d.kmsKeyId && d.sse !== 'aws:kms') {
      ctx.addIssue({ code: 'custom', path: ['sse'], message: 'must be aws:kms when kmsKeyId is set' });
    }
    if ((d.accessKeyId === undefined) !== (d.secretAccessKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [d.accessKeyId ? 'secretAccessKey' : 'accessKeyId'],
        message: 'accessKeyId and secretAccessKey go together; set both, or neither to use the Lambda role',
      });
    }
  });

export const r2DestinationSchema = z.strictObject({
  type: z.literal('r2'),
  /** The Cloudflare account id: the endpoint is https://<accountId>.r2.cloudflarestorage.com. */
  accountId: z
    .string()
    .regex(/^[0-9a-f]{32}$/i, 'must be the 32-character Cloudflare account id (dashboard → R2 → Account ID)'),
  bucket: z.string().min(1),
  jurisdiction: z.enum(['eu', 'fedramp']).optional(),
  accessKeyId: secretReference,
  secretAccessKey: secretReference,
  storageClass: z.enum(['STANDARD', 'STANDARD_IA']).optional(),
  ...transferOptions,
});

export const destinationSchema = z.discriminatedUnion('type', [
  filesystemDestinationSchema,
  s3DestinationSchema,
  r2DestinationSchema,
]);

const notificationEvent = z.enum(['success', 'failure']);
const email = z.email({ message: 'is not an email address (name@example.com)' });

/**
 * Permissions of the outbox's mail files, as an octal string: owner-only by default; a share
 * may grant its group read ("0640"), never others.
 */
const outboxMode = z.unknown().transform((value, ctx) => {
  const problem =
    typeof value !== 'string' || !/^0?[0-7]{3}$/.test(value)
      ? `must be an octal mode in quotes, e.g. "0600" or "0640"${typeof value === 'number' ? ` (unquoted, YAML reads it as the decimal number ${value})` : ''}`
      : (parseInt(value, 8) & 0o600) !== 0o600
        ? 'must let the owner read and write (at least "0600")'
        : (parseInt(value, 8) & 0o007) !== 0
          ? 'must not give others any access: mails name databases and where their backups are (use "0600" or "0640")'
          : (parseInt(value, 8) & 0o111) !== 0
            ? 'must not make mail files executable (use "0600" or "0640")'
            : undefined;
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return value as string;
});

export const outboxNotificationSchema = z.strictObject({
  type: z.literal('outbox'),
  path: z.string().min(1),
  from: email.optional(),
  to: z.array(email).optional(),
  mode: outboxMode.default('0600'),
  on: z.array(notificationEvent).min(1).default(['failure', 'success']),
});

export const sesNotificationSchema = z.strictObject({
  type: z.literal('ses'),
  /** A verified SES identity (the address, or an address of a verified domain). */
  from: email,
  to: z.array(email).min(1, 'needs at least one recipient'),
  cc: z.array(email).optional(),
  on: z.array(notificationEvent).min(1).default(['failure', 'success']),
  configurationSet: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});

export const notificationSchema = z.discriminatedUnion('type', [outboxNotificationSchema, sesNotificationSchema]);

export const defaultsSchema = z.strictObject({
  timezone: timezone.optional(),
  staging: z.string().min(1).optional(),
  destinations: z.array(name).min(1).optional(),
  notify: z.array(name).optional(),
  retention: retentionSchema.optional(),
  schedule: scheduleSchema.optional(),
});

export const eventsSchema = z.strictObject({
  /** An event bus name or ARN; `default` is the account's default bus. */
  bus: z.string().min(1),
  source: z.string().min(1).default('stepvault'),
});

export const observabilitySchema = z.strictObject({
  sentry: z
    .strictObject({
      dsn: z.string().refine((v) => isSecretReference(v) || /^https?:\/\/[^@\s/]+@[^/\s]+\/.+/.test(v), {
        message: 'must be a Sentry DSN (https://<key>@<host>/<project>) or a secret reference to one',
      }),
      environment: z.string().min(1).optional(),
    })
    .optional(),
  seq: z
    .strictObject({
      url: endpoint,
      apiKey: secretReference.optional(),
    })
    .optional(),
});

/** How the AWS deployment is shaped (read by `serverless package`/`deploy`, not by a run). */
export const deploySchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'is not an AWS region (e.g. eu-west-1)'),
  architecture: z.enum(['arm64', 'x86_64']).default('arm64'),
  /** Alarms go to an SNS topic; this address is subscribed to it. */
  alarmEmail: email.optional(),
  /**
   * Staging is an EFS share, which Lambda reaches only inside a VPC: the subnets (one per AZ) and, optionally, security
   * groups.
   */
  vpc: z
    .strictObject({
      id: z.string().regex(/^vpc-[0-9a-f]+$/, 'is not a VPC id (vpc-…)'),
      subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]+$/, 'is not a subnet id (subnet-…)')).min(1),
      securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'is not a security group id (sg-…)')).optional(),
    })
    .optional(),
  /** The backup bucket the stack creates (versioned, private, TLS-only, SSE-KMS); s3 destinations may use it. */
  bucket: z
    .strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid bucket name'),
      kmsKeyId: z.string().min(1).optional(),
      transitions: z
        .array(
          z.strictObject({
            days: z.int().min(1),
            storageClass: z.enum([
              'STANDARD_IA',
              'ONEZONE_IA',
              'INTELLIGENT_TIERING',
              'GLACIER_IR',
              'GLACIER',
              'DEEP_ARCHIVE',
            ]),
          }),
        )
        .optional(),
      noncurrentVersionDays: z.int().min(1).default(30),
    })
    .optional(),
  functions: z
    .partialRecord(
      z.enum(STEP_NAMES),
      z.strictObject({
        memorySize: z.int().min(128).max(10240).optional(),
        timeout: z.int().min(1).max(LAMBDA_MAX_TIMEOUT_SECONDS).optional(),
      }),
    )
    .optional(),
  logRetentionDays: z.int().min(1).default(30),
});

export const configSchema = z
  .strictObject({
    deploy: deploySchema.optional(),
    defaults: defaultsSchema.optional(),
    events: eventsSchema.optional(),
    observability: observabilitySchema.optional(),
    destinations: z.record(name, destinationSchema).default({}),
    notifications: z.record(name, notificationSchema).default({}),
    targets: z.record(name, targetSchema).refine((t) => Object.keys(t).length > 0, {
      message: 'is empty: add at least one database under targets',
    }),
  })
  .superRefine((config, ctx) => {
    const checkNames = (
      names: string[] | undefined,
      path: (string | number)[],
      pool: object,
      kind: string,
      where: string,
    ) => {
      names?.forEach((n, i) => {
        if (!Object.hasOwn(pool, n)) {
          const known = Object.keys(pool);
          ctx.addIssue({
            code: 'custom',
            path: [...path, i],
            message: `no ${kind} named "${n}"; define it under ${where}:${known.length ? ` (defined: ${known.join(', ')})` : ''}`,
          });
        }
      });
    };
    checkNames(
      config.defaults?.destinations,
      ['defaults', 'destinations'],
      config.destinations,
      'destination',
      'destinations',
    );
    checkNames(config.defaults?.notify, ['defaults', 'notify'], config.notifications, 'notification', 'notifications');
    for (const [targetName, target] of Object.entries(config.targets)) {
      checkNames(
        target.destinations,
        ['targets', targetName, 'destinations'],
        config.destinations,
        'destination',
        'destinations',
      );
      checkNames(
        target.notify,
        ['targets', targetName, 'notify'],
        config.notifications,
        'notification',
        'notifications',
      );
      const written = serverWrites(target);
      if (written) {
        const names = target.destinations ?? config.defaults?.destinations ?? [];
        const writable = names.filter((n) => written.destinationTypes.includes(config.destinations[n]?.type ?? ''));
        if (names.length !== 1 || writable.length !== 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', targetName, 'destinations'],
            message: `must be exactly one ${written.destinationTypes.join(' or ')} destination in ${written.mode}, where the server writes the backup itself (now: ${names.join(', ') || 'none'})`,
          });
        }
      }
      if (!target.destinations && !config.defaults?.destinations) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', targetName, 'destinations'],
          message: 'is missing: say where backups go, here or under defaults.destinations',
        });
      }
    }
  });

export type RawConfig = z.output<typeof configSchema>;
export type DumpOptions = z.output<typeof dumpOptionsSchema>;
export type TlsOptions = z.output<typeof tlsSchema>;
export type RetentionPolicy = z.output<typeof retentionSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type FilesystemDestinationConfig = z.output<typeof filesystemDestinationSchema>;
export type S3DestinationConfig = z.output<typeof s3DestinationSchema>;
export type R2DestinationConfig = z.output<typeof r2DestinationSchema>;
export type NotificationConfig = z.output<typeof notificationSchema>;
export type NotificationEvent = z.output<typeof notificationEvent>;
export type EventsConfig = z.output<typeof eventsSchema>;
export type DeployConfig = z.output<typeof deploySchema>;
export type VerifyConfig = NonNullable<z.output<typeof targetSchema>['verify']>;
export type MssqlOptions = z.output<typeof mssqlOptionsSchema>;
export type ObservabilityConfig = z.output<typeof observabilitySchema>;

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

function isKnownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
