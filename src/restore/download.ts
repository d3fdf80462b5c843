/**
 * Brings a backup down into a local file, hashing it on the way, and refuses it when its size or
 * SHA-256 differ from the manifest's — before any database is touched.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Backup } from '../backups/listing.ts';
import { DigestStream } from '../streams/digest.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { ChecksumMismatchError, StorageError } from '../errors.ts';
import type { StorageProvider } from '../storage/types.ts';

export async function downloadVerified(
  storage: StorageProvider,
  backup: Backup,
  file: string,
  onProgress?: ProgressListener,
): Promise<void> {
  const body = await storage.get(backup.key);
  if (!body)
    throw new StorageError(`${backup.key} is listed in its manifest but missing from destination ${storage.name}`);
  const digest = new DigestStream(onProgress, backup.manifest.size);
  await pipeline(body, digest, createWriteStream(file, { mode: 0o600 }));
  const sha256 = digest.hex();
  if (sha256 !== backup.manifest.sha256 || digest.bytes !== backup.manifest.size) {
    await rm(file, { force: true });
    throw new ChecksumMismatchError(
      `${backup.key} in ${storage.name} is not the backup its manifest describes: ${digest.bytes} bytes with SHA-256 ${sha256}, the manifest says ${backup.manifest.size} bytes with ${backup.manifest.sha256}. Nothing was restored; try another backup (stepvault list).`,
    );
  }
}
