/**
 * `type: supabase`: a bucket of Supabase Storage, reached through its S3-compatible endpoint.
 * The project ref and region name the endpoint; the keys are the S3 access keys made under
 * Project Settings → Storage → S3 access keys (not the anon or service-role key).
 */
import * as z from 'zod';
import { endpoint, secretReference } from './fields.ts';
import { transferOptions } from './transfer.ts';

export const supabaseDestinationSchema = z.strictObject({
  type: z.literal('supabase'),
  /** The project's ref: the 20 letters of https://<ref>.supabase.co. */
  projectRef: z
    .string()
    .regex(/^[a-z]{20}$/, 'must be the project ref, the 20 lowercase letters of https://<ref>.supabase.co'),
  /** The project's region, as the dashboard's S3 connection settings show it (e.g. eu-central-1). */
  region: z
    .string()
    .regex(/^[a-z]{2}-[a-z]+-\d$/, 'must be the project region as Supabase names it, e.g. eu-central-1'),
  bucket: z.string().min(1),
  accessKeyId: secretReference,
  secretAccessKey: secretReference,
  /** Another address of the same API: a self-hosted Supabase (https://host/storage/v1/s3). */
  endpoint: endpoint.optional(),
  ...transferOptions,
});
