/**
 * A folder of dump files stored as ONE object: a tar of it into the staging file or a
 * destination's stream, hashed and counted as it passes (pg_dump's directory format, a whole
 * server's dumps). `judge` throws to refuse the dump: into a stream it runs as the writer's last
 * step, before the object becomes visible; into a file, once the file is whole (the Dump step
 * deletes a refused one).
 */
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline as pipelineCallback, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DumpError } from '../errors.ts';
import { DigestStream } from '../streams/digest.ts';
import { tarStream, walk, type TarEntry } from '../streams/tar.ts';
import { stagingError } from './stream.ts';
import type { DumpRequest, DumpSink } from './types.ts';

/**
 * `scratch/<folder>` as one tar whose entries all sit under `<folder>/`: the folder's walk, or
 * `feed` when the entries come as they are written (a parallel dump: pg-finished-files.ts).
 */
export async function storeFolderAsTar(
  scratch: string,
  folder: string,
  sink: DumpSink,
  request: Pick<DumpRequest, 'onProgress'>,
  judge: () => Promise<void>,
  feed: AsyncIterable<TarEntry> = entries(scratch, folder),
): Promise<{ size: number; sha256: string }> {
  const digest = new DigestStream(request.onProgress);
  const source = Readable.from(tarStream(feed, Math.floor(Date.now() / 1000)));
  if ('file' in sink) {
    try {
      await pipeline(source, digest, createWriteStream(sink.file, { mode: 0o600 }));
    } catch (error) {
      throw stagingError(error, sink.file);
    }
    await judge();
    return { size: digest.bytes, sha256: digest.hex() };
  }
  // The tar's errors reach the writer through the body, which abandons the write.
  const body = pipelineCallback(source, digest, () => undefined) as unknown as Readable;
  let sha256: string | undefined;
  const written = await sink.stream(body, async (passed) => {
    await judge();
    sha256 = digest.hex();
    if (passed.size !== digest.bytes || passed.sha256 !== sha256)
      throw new DumpError(
        `the destination counted ${passed.size} bytes with SHA-256 ${passed.sha256}, the dump was ${digest.bytes} bytes with ${sha256}; nothing was published`,
      );
  });
  if (sha256 === undefined)
    throw new DumpError('the destination stored the dump without letting it be checked; it is not a backup');
  return { size: written.size, sha256 };
}

/** The folder and its files, owned by nobody in particular (root in tar's terms). */
async function* entries(scratch: string, folder: string): AsyncGenerator<TarEntry> {
  yield { name: folder, type: 'directory', mode: 0o700, uid: 0, gid: 0 };
  for await (const entry of walk(path.join(scratch, folder))) yield { ...entry, name: `${folder}/${entry.name}` };
}
