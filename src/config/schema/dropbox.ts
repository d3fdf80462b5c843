/**
 * `type: dropbox`: a folder of a Dropbox account, reached with the app's key and secret and a
 * refresh token (all secret references). Short-lived access tokens are obtained from the refresh
 * token as needed; none is ever configured.
 */
import * as z from 'zod';
import { endpoint, prefix, secretReference } from './fields.ts';

export const dropboxDestinationSchema = z.strictObject({
  type: z.literal('dropbox'),
  appKey: secretReference,
  appSecret: secretReference,
  /** From the OAuth flow with token_access_type=offline; it does not expire unless revoked. */
  refreshToken: secretReference,
  /**
   * The folder backups go under. An App-folder app sees its own folder as the root, so this is
   * left out (or a subfolder); a full-Dropbox app names one, e.g. /Backups/stepvault.
   */
  folder: z
    .string()
    .regex(
      /^(\/[^/\\]+)+$/,
      'must be a Dropbox folder path starting with "/", e.g. /Backups/stepvault, without a trailing "/"',
    )
    .refine((v) => !v.split('/').includes('..'), { message: 'must not contain ".."' })
    .optional(),
  prefix: prefix.optional(),
  /** Bytes sent per request of an upload session; Dropbox takes at most 150 MB in one. */
  chunkSizeMB: z
    .int()
    .min(4)
    .max(64)
    .refine((v) => v % 4 === 0, { message: 'must be a multiple of 4 (MiB), as Dropbox asks of upload sessions' })
    .optional(),
  required: z.boolean().optional(),
  /** Another address of the same HTTP API (a proxy, or a server that speaks it in tests). */
  endpoint: endpoint.optional(),
});
