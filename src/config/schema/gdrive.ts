/**
 * `type: gdrive`: a Google Drive folder (in My Drive or a shared drive), reached with a service
 * account's JSON key or an OAuth client and refresh token, all secret references.
 */
import * as z from 'zod';
import { endpoint, prefix, secretReference } from './fields.ts';

export const gdriveDestinationSchema = z
  .strictObject({
    type: z.literal('gdrive'),
    /** The id of the folder backups go under (from its URL: drive.google.com/drive/folders/<id>). */
    folderId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{10,}$/, 'must be the folder id from its URL, drive.google.com/drive/folders/<id>'),
    /**
     * A service account's JSON key; the folder must be shared with its address, or be in a shared
     * drive it is a member of.
     */
    serviceAccountKey: secretReference.optional(),
    /** An OAuth client (Desktop or Web) and a refresh token granted the drive.file or drive scope. */
    clientId: secretReference.optional(),
    clientSecret: secretReference.optional(),
    refreshToken: secretReference.optional(),
    prefix: prefix.optional(),
    /** Bytes sent per request of a resumable upload (a multiple of 256 KiB, as Drive asks). */
    chunkSizeMB: z.int().min(1).max(64).optional(),
    required: z.boolean().optional(),
    /** Another address of the same HTTP APIs (a proxy, or a server that speaks them in tests). */
    endpoint: endpoint.optional(),
  })
  .superRefine((d, ctx) => {
    const oauth = [d.clientId, d.clientSecret, d.refreshToken].filter((v) => v !== undefined).length;
    if (d.serviceAccountKey !== undefined && oauth > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['serviceAccountKey'],
        message: 'give either serviceAccountKey or clientId, clientSecret and refreshToken, not both',
      });
    } else if (d.serviceAccountKey === undefined && oauth !== 3) {
      ctx.addIssue({
        code: 'custom',
        path: [oauth === 0 ? 'serviceAccountKey' : 'refreshToken'],
        message:
          oauth === 0
            ? 'is required, or clientId, clientSecret and refreshToken for an OAuth client'
            : 'clientId, clientSecret and refreshToken go together',
      });
    }
  });
