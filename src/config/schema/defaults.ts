/** `defaults`: what every target inherits unless it says otherwise. */
import * as z from 'zod';
import { alertsSchema } from './alerts.ts';
import { encryptionSchema } from './encryption.ts';
import { fargateSchema } from './fargate.ts';
import { name, timezone } from './fields.ts';
import { runnerAutoSchema, runnerSchema } from './runner.ts';
import { retentionSchema } from './retention.ts';
import { scheduleSchema } from './schedule.ts';

export const defaultsSchema = z.strictObject({
  timezone: timezone.optional(),
  staging: z.string().min(1).optional(),
  destinations: z.array(name).min(1).optional(),
  notify: z.array(name).optional(),
  retention: retentionSchema.optional(),
  alerts: alertsSchema.optional(),
  schedule: scheduleSchema.optional(),
  fargate: fargateSchema.optional(),
  runner: runnerSchema.optional(),
  runnerAuto: runnerAutoSchema.optional(),
  /** Every target's dumps encrypted with age, unless the target has its own encryption. */
  encryption: encryptionSchema.optional(),
});
