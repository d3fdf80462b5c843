/**
 * A streamed dump's other copies: every destination after the first gets the object the dump was
 * streamed into, checked against the dump's size and SHA-256 before it becomes visible there.
 */
import { readManifest } from '../backups/listing.ts';
import type { StreamedDump } from '../contracts.ts';
import { ChecksumMismatchError } from '../errors.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { copyBetween } from '../storage/copy.ts';
import type { CopyResult, StorageProvider } from '../storage/types.ts';

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

/**
 * Copies the streamed dump from its destination into `target` under `key`: server-side where both
 * are in one store, else streamed; either way refused unless it is the dump (src/storage/copy.ts).
 */
export async function copyStreamed(
  source: StorageProvider,
  dump: StreamedDump,
  target: StorageProvider,
  key: string,
  options: { metadata: Record<string, string>; onProgress?: ProgressListener },
): Promise<CopyResult> {
  return copyBetween(
    { storage: source, key: dump.key },
    { storage: target, key },
    { size: dump.size, sha256: dump.sha256 },
    options,
  );
}
