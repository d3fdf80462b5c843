import * as z from 'zod';
import { prefix } from './fields.ts';

/** Upload tuning shared by the S3-speaking destinations. */
export const transferOptions = {
  /** Part size of multipart uploads; by default chosen from the file size (8 MiB or more). */
  partSizeMB: z.int().min(5).max(5120).optional(),
  /** Parts in flight at once. */
  concurrency: z.int().min(1).max(16).optional(),
  required: z.boolean().optional(),
  prefix: prefix.optional(),
};
