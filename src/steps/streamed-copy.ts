/**
 * A streamed dump's other copies: every destination after the first gets the object the dump was
 * streamed into, checked against the dump's size and SHA-256 before it becomes visible there.
 */
import { readManifest } from '../backups/listing.ts';
import type { StreamedDump } from '../contracts.ts';
import { ChecksumMismatchError, StorageError } from '../errors.ts';
import type { ProgressListener } from '../observability/progress.ts';
import type { StorageProvider } from '../storage/types.ts';

/** The first destination holds the dump as StreamDump published it: there, and described by its manifest. */
export async function checkStreamedCopy(storage: StorageProvider, dump: StreamedDump): Promise<void> {
  const head = await storage.head(dump.key);
  const manifest = head && (await readManifest(storage, dump.manifestKey));
  const problem = !head
    ? 'the dump is missing'
    : head.size !== dump.size
      ? `the dump has ${head.size} bytes, ${dump.size} were dumped`
      : !manifest
        ? 'its manifest is missing or unreadable'
        : manifest.sha256 !== dump.sha256 || manifest.size !== dump.size
          ? 'its manifest does not describe this dump'
          : undefined;
  if (problem)
    throw new ChecksumMismatchError(
      `${dump.destination} (${storage.locate(dump.key)}), where the dump was streamed: ${problem}`,
    );
}

/** Copies the streamed dump from its destination into `target` under `key`, refused unless it is the dump. */
export async function copyStreamed(
  source: StorageProvider,
  dump: StreamedDump,
  target: StorageProvider,
  key: string,
  options: { metadata: Record<string, string>; onProgress?: ProgressListener },
): Promise<void> {
  const body = await source.get(dump.key);
  if (!body)
    throw new StorageError(
      `destination ${dump.destination}: ${source.locate(dump.key)} is gone, so there is nothing to copy to ${target.name}`,
    );
  await target.putStream(key, body, {
    metadata: options.metadata,
    expectedSize: dump.size,
    ...(options.onProgress && { onProgress: options.onProgress }),
    async beforeCommit(written) {
      if (written.size !== dump.size || written.sha256 !== dump.sha256)
        throw new ChecksumMismatchError(
          `the copy from ${dump.destination} to ${target.name} has ${written.size} bytes with SHA-256 ${written.sha256}, the dump had ${dump.size} bytes with ${dump.sha256}; nothing was stored`,
        );
    },
  });
}
