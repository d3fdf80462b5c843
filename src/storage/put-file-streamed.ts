/**
 * putFile for a provider that writes only by streaming (Dropbox, Google Drive): the staged file is
 * read into the provider's putStream, and the write is refused before it commits unless the bytes
 * read are the ones Dump staged (size and SHA-256). A file that cannot be read is the staging's
 * fault, said as such, not the destination's.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ChecksumMismatchError, StorageError } from '../errors.ts';
import type { PutFileOptions, PutStreamOptions, StreamWritten } from './types.ts';

export interface StreamingWriter {
  readonly name: string;
  putStream(key: string, body: Readable, options: PutStreamOptions): Promise<StreamWritten>;
}

export async function putFileStreamed(
  writer: StreamingWriter,
  key: string,
  file: string,
  options: PutFileOptions,
): Promise<void> {
  const source = createReadStream(file);
  let readError: unknown;
  source.once('error', (error) => {
    readError = error;
  });
  await writer
    .putStream(key, source, {
      metadata: options.metadata,
      ...(options.contentType && { contentType: options.contentType }),
      expectedSize: options.size,
      ...(options.onProgress && { onProgress: options.onProgress }),
      beforeCommit: async (written) => {
        if (written.size !== options.size || written.sha256 !== options.sha256) {
          throw new ChecksumMismatchError(
            `${writer.name}: read ${written.size} bytes (SHA-256 ${written.sha256}) of ${file}; expected ${options.size} bytes with ${options.sha256}; nothing was stored`,
          );
        }
      },
    })
    .catch((error: unknown) => {
      if (error !== readError) throw error;
      throw new StorageError(
        `destination ${writer.name}: cannot read ${file} to store ${key} (${(error as Error).message})`,
        { cause: error },
      );
    });
}
