/** How long backups are kept: `retention` of a target or of `defaults`. */
import * as z from 'zod';

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

export type RetentionPolicy = z.output<typeof retentionSchema>;
