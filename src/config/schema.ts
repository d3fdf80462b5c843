/**
 * The shape of stepvault.config.yml. Unknown keys are rejected everywhere (a typo must not
 * silently disable an option), and every message names the path of what is wrong. Each section
 * has its own file under schema/; this one assembles them and checks what crosses sections
 * (a name used in one section must be defined in another).
 */
import * as z from 'zod';
import { engineInfo, serverWrites, ENGINES, type Engine } from '../engines/registry.ts';
import { name } from './schema/fields.ts';
import { deploySchema } from './schema/deploy.ts';
import { defaultsSchema } from './schema/defaults.ts';
import { eventsSchema, observabilitySchema } from './schema/observability.ts';
import { destinationSchema } from './schema/destinations.ts';
import { notificationSchema } from './schema/notifications.ts';
import { targetSchema } from './schema/targets.ts';

export { ENGINES, type Engine };
export { retentionSchema, type RetentionPolicy } from './schema/retention.ts';
export { scheduleSchema, type ScheduleConfig } from './schema/schedule.ts';
export {
  dumpOptionsSchema,
  targetSchema,
  tlsSchema,
  type DumpOptions,
  type MssqlOptions,
  type TlsOptions,
  type VerifyConfig,
} from './schema/targets.ts';
export {
  destinationSchema,
  filesystemDestinationSchema,
  r2DestinationSchema,
  S3_STORAGE_CLASSES,
  s3DestinationSchema,
  type DestinationConfig,
  type FilesystemDestinationConfig,
  type R2DestinationConfig,
  type DropboxDestinationConfig,
  type GdriveDestinationConfig,
  type S3DestinationConfig,
  type SupabaseDestinationConfig,
} from './schema/destinations.ts';
export {
  notificationSchema,
  outboxNotificationSchema,
  sesNotificationSchema,
  type NotificationConfig,
  type NotificationEvent,
} from './schema/notifications.ts';
export { defaultsSchema } from './schema/defaults.ts';
export { runnerAutoSchema, runnerSchema, type RunnerAutoConfig } from './schema/runner.ts';
export {
  eventsSchema,
  observabilitySchema,
  type EventsConfig,
  type ObservabilityConfig,
} from './schema/observability.ts';
export { deploySchema, type DeployConfig } from './schema/deploy.ts';

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
      for (const key of ['host', 'database'] as const) {
        // A whole server (databases) connects to the engine's own database to list the others.
        if (key === 'database' && target.databases !== undefined) continue;
        if (target.url === undefined && target[key] === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', targetName, key],
            message: `is required; add "${key}:" under targets.${targetName}, or give the whole connection as url: env:DATABASE_URL`,
          });
        }
      }
      checkRunner(targetName, target, config.defaults, ctx);
      checkEncryption(targetName, target, config.defaults, ctx);
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

/**
 * A runner asked for (by the target, or by defaults for it) must be able to run the target's dump:
 * only efs stages, which SQL Server's own backup file and the restore drill need; `runnerAuto`
 * says how `auto` decides, so it means nothing on a target that asks for another runner.
 */
function checkRunner(
  targetName: string,
  target: z.output<typeof targetSchema>,
  defaults: z.output<typeof defaultsSchema> | undefined,
  ctx: z.RefinementCtx,
): void {
  const runner = target.runner ?? defaults?.runner;
  if (target.runnerAuto && runner !== 'auto') {
    ctx.addIssue({
      code: 'custom',
      path: ['targets', targetName, 'runnerAuto'],
      message: `applies only with runner: auto (target ${targetName} ${runner ? `runs on ${runner}` : 'names no runner'}); set runner: auto, or remove it`,
    });
  }
  if (runner === undefined) return;
  const path = target.runner === undefined ? ['defaults', 'runner'] : ['targets', targetName, 'runner'];
  const fix = `set targets.${targetName}.runner: efs${target.runner === undefined ? '' : ', or leave runner out'}`;
  const moves = runner === 'auto' ? 'is auto, which may move the dump to fargate' : `is ${runner}`;
  if (runner !== 'efs' && !engineInfo(target.engine).streams) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `${moves}, but engine ${target.engine} writes its backup file itself, which only efs stages (target ${targetName}); ${fix}`,
    });
  } else if (runner !== 'efs' && target.verify?.drill) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `${moves}, but target ${targetName} has verify.drill, which restores the staged dump only efs keeps; ${fix}, or remove verify.drill`,
    });
  } else if (runner === 'lambda' && target.databases !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `is lambda, which streams with no disk, but target ${targetName} has databases, which dumps each database into a folder on local disk before the folder is stored; ${fix.replace('efs', "efs (the staging share) or fargate (the task's ephemeral storage)")}`,
    });
  } else if (runner === 'lambda' && (target.dump?.jobs ?? 1) > 1) {
    // Lambda's /tmp is 512 MB unless the function is given more (10 GiB at most), and the lambda
    // runner exists to need no disk: a parallel dump belongs where there is room (see README).
    ctx.addIssue({
      code: 'custom',
      path: ['targets', targetName, 'dump', 'jobs'],
      message: `is ${target.dump?.jobs}, which writes pg_dump's directory format to local disk before it is stored, but ${path.join('.')} is lambda, which streams with no disk; set targets.${targetName}.runner: fargate (the task's ephemeral storage, up to 200 GiB) or efs (the staging share), or dump.jobs: 1`,
    });
  }
}

/**
 * Encryption happens on the dump's stream, before anything is written: a dump that is written
 * as a file first cannot have it (SQL Server writes its .bak itself; pg_dump's parallel
 * directory format writes its files to disk), and refusing says so instead of storing plaintext.
 */
function checkEncryption(
  targetName: string,
  target: z.output<typeof targetSchema>,
  defaults: z.output<typeof defaultsSchema> | undefined,
  ctx: z.RefinementCtx,
): void {
  const encryption = target.encryption ?? defaults?.encryption;
  if (!encryption) {
    if (target.verify?.drill?.identity !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['targets', targetName, 'verify', 'drill', 'identity'],
        message: `applies only to encrypted backups, and target ${targetName} has no encryption; remove it, or add encryption: { age: { recipients: [age1…] } }`,
      });
    return;
  }
  const path = target.encryption ? ['targets', targetName, 'encryption'] : ['defaults', 'encryption'];
  if (!engineInfo(target.engine).streams) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `applies to target ${targetName}, but engine ${target.engine} writes its backup file itself, unencrypted, so stepvault cannot encrypt it; use the server's own backup encryption${target.encryption ? ' and remove it' : ''}`,
    });
  } else if (target.databases !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path,
      message: `applies to target ${targetName}, but its databases are each dumped to local disk unencrypted before the server's folder is stored; back up each database in a target of its own (database:) to encrypt them`,
    });
  } else if ((target.dump?.jobs ?? 1) > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['targets', targetName, 'dump', 'jobs'],
      message: `is ${target.dump?.jobs}, which writes pg_dump's directory format to local disk unencrypted, but ${path.join('.')} asks that nothing unencrypted be written; set dump.jobs: 1 (one encrypted stream)`,
    });
  }
}
