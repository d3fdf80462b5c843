/** When a target is backed up: `schedule` of a target or of `defaults`. */
import * as z from 'zod';
import { validateSchedule } from '../../deploy/schedule.ts';
import { timezone } from './fields.ts';

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

export type ScheduleConfig = z.output<typeof scheduleSchema>;
