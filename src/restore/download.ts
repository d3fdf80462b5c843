/**
 * Brings a backup down, hashing it on the way, and refuses it when its size or SHA-256 differ
 * from the manifest's — before any database is touched. A single-file dump lands in a local file;
 * a directory-format dump (a tar of pg_dump's folder) is unpacked as it arrives, so it never sits
 * on disk twice.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backup } from '../backups/listing.ts';
import { DigestStream } from '../streams/digest.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { ChecksumMismatchError, StorageError } from '../errors.ts';
import type { StorageProvider } from '../storage/types.ts';
import { unpackDirectoryDump } from './directory.ts';

export async function downloadVerified(
  storage: StorageProvider,
  backup: Backup,
  file: string,
  onProgress?: ProgressListener,
): Promise<void> {
  const body = await fetchBody(storage, backup);
  const digest = new DigestStream(onProgress, backup.manifest.size);
  await pipeline(body, digest, createWriteStream(file, { mode: 0o600 }));
  try {
    checkDigest(storage, backup, digest);
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

/**
 * A directory-tar backup (or, with its own `unpack`, a whole server's tar) unpacked into `work`
 * as it is downloaded; the folder pg_restore reads.
 * What it unpacked is trusted only once the whole stream matched the manifest (the caller
 * removes `work` whatever happens).
 */
export async function downloadUnpacked(
  storage: StorageProvider,
  backup: Backup,
  work: string,
  onProgress?: ProgressListener,
  unpack: (source: AsyncIterable<Buffer>, work: string, label: string) => Promise<string> = unpackDirectoryDump,
): Promise<string> {
  const body = await fetchBody(storage, backup);
  const digest = new DigestStream(onProgress, backup.manifest.size);
  let folder: string | undefined;
  let unpackError: unknown;
  await pipeline(body, digest, async (source: AsyncIterable<Buffer>) => {
    try {
      folder = await unpack(source, work, backup.key);
    } catch (error) {
      // Read on to the end: bytes that differ from the manifest's say more than where they broke the tar.
      unpackError = error;
      for await (const _ of source);
    }
  });
  checkDigest(storage, backup, digest);
  if (unpackError !== undefined) throw unpackError;
  return folder!;
}

async function fetchBody(storage: StorageProvider, backup: Backup): Promise<Readable> {
  const body = await storage.get(backup.key);
  if (!body)
    throw new StorageError(`${backup.key} is listed in its manifest but missing from destination ${storage.name}`);
  return body;
}

function checkDigest(storage: StorageProvider, backup: Backup, digest: DigestStream): void {
  const sha256 = digest.hex();
  if (sha256 !== backup.manifest.sha256 || digest.bytes !== backup.manifest.size)
    throw new ChecksumMismatchError(
      `${backup.key} in ${storage.name} is not the backup its manifest describes: ${digest.bytes} bytes with SHA-256 ${sha256}, the manifest says ${backup.manifest.size} bytes with ${backup.manifest.sha256}. Nothing was restored; try another backup (stepvault list).`,
    );
}
