/**
 * Unpacks a backup stored as a tar of a folder (a parallel dump's directory, a whole server's
 * members) into a private folder, and checks the folder holds the file that says what it is.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { DumpError } from '../errors.ts';
import { TarFormatError, untar } from '../streams/untar.ts';

export interface TarredFolder {
  /** The folder inside the tar. */
  folder: string;
  /** A file the folder must hold. */
  marker: string;
  /** What such a backup is called in messages, e.g. "a directory-format dump". */
  kind: string;
}

/** Unpacks the tar stream under `work`; the folder it holds. `label` names the backup in messages. */
export async function unpackTarredFolder(
  source: AsyncIterable<Buffer>,
  work: string,
  label: string,
  expected: TarredFolder,
): Promise<string> {
  try {
    await untar(source, work);
  } catch (error) {
    if (!(error instanceof TarFormatError)) throw error;
    throw new DumpError(`${label} cannot be unpacked: ${error.message}; nothing was restored`);
  }
  const folder = path.join(work, expected.folder);
  try {
    await access(path.join(folder, expected.marker));
  } catch {
    throw new DumpError(
      `${label} is not ${expected.kind}: it holds no ${expected.folder}/${expected.marker}; nothing was restored`,
    );
  }
  return folder;
}
