/** `destinations.<name>`: where backups are stored, one schema per provider type. */
import * as z from 'zod';
import { isValidFileMode } from '../../storage/file-mode.ts';
import { endpoint, prefix, secretReference } from './fields.ts';
import { dropboxDestinationSchema } from './dropbox.ts';
import { gdriveDestinationSchema } from './gdrive.ts';
import { supabaseDestinationSchema } from './supabase.ts';
import { transferOptions } from './transfer.ts';

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
  supabaseDestinationSchema,
  dropboxDestinationSchema,
  gdriveDestinationSchema,
]);

export type DestinationConfig = z.output<typeof destinationSchema>;
export type FilesystemDestinationConfig = z.output<typeof filesystemDestinationSchema>;
export type S3DestinationConfig = z.output<typeof s3DestinationSchema>;
export type R2DestinationConfig = z.output<typeof r2DestinationSchema>;
export type DropboxDestinationConfig = z.output<typeof dropboxDestinationSchema>;
export type GdriveDestinationConfig = z.output<typeof gdriveDestinationSchema>;
export type SupabaseDestinationConfig = z.output<typeof supabaseDestinationSchema>;
