/**
 * A stored object copied from one destination to another: the first destination got the dump,
 * the others get their copy from it. Inside one store (both S3 buckets reachable with the same
 * keys) the store copies it itself; otherwise the bytes stream from `source.get` into
 * `target.putStream`, whose beforeCommit refuses them unless their size and SHA-256 are the
 * dump's. Either way the target's rules hold: never replace, nothing visible unless all of it is.
 */
import { ChecksumMismatchError, StorageError } from '../errors.ts';
import type { CopyOptions, CopyResult, StorageProvider, StreamWritten } from './types.ts';

/** An object of a destination (its key includes the destination's prefix). */
export interface StoredAt {
  storage: StorageProvider;
  key: string;
}

export async function copyBetween(
  from: StoredAt,
  to: StoredAt,
  expected: StreamWritten,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const { storage: source } = from;
  const { storage: target, key } = to;
  const serverSide = await target.copyFrom?.(source, from.key, key, expected, options);
  if (serverSide) return serverSide;

  const body = await source.get(from.key);
  if (!body) {
    throw new StorageError(
      `cannot copy ${from.key} from destination ${source.name} to ${target.name}: ${source.locate(from.key)} does not exist`,
    );
  }
  // The source failing midway (a dropped connection) is a storage failure of the source, which
  // putStream would pass on as the body's own error, unnamed: it is named here.
  let readError: unknown;
  body.once('error', (error) => {
    readError = error;
  });
  const written = await target
    .putStream(key, body, {
      metadata: { ...options.metadata, sha256: expected.sha256 },
      ...(options.contentType && { contentType: options.contentType }),
      expectedSize: expected.size,
      ...(options.onProgress && { onProgress: options.onProgress }),
      ...(options.signal && { signal: options.signal }),
      beforeCommit: async (copied) => {
        if (copied.size !== expected.size || copied.sha256 !== expected.sha256) {
          throw new ChecksumMismatchError(
            `cannot copy ${from.key} from destination ${source.name} to ${target.name}: read ${copied.size} bytes with SHA-256 ${copied.sha256}, expected ${expected.size} bytes with ${expected.sha256}; nothing was stored`,
          );
        }
      },
    })
    .catch((error: unknown) => {
      if (error !== readError) throw error;
      throw new StorageError(
        `cannot copy ${from.key} from destination ${source.name} to ${target.name}: reading ${source.locate(from.key)} failed (${(error as Error).message}); nothing was stored`,
        { cause: error },
      );
    });
  return { ...written, method: 'streamed', checked: 'size and SHA-256 of the bytes copied' };
}
