/**
 * A directory-format PostgreSQL dump, stored as a tar of pg_dump's folder (dump.jobs above 1),
 * unpacked into a private folder for pg_restore to read with as many jobs as it was dumped with.
 */
import { DIRECTORY_IN_TAR } from '../contracts.ts';
import { unpackTarredFolder } from './unpack.ts';

/** Unpacks the tar stream under `work`; the dump's folder (with its toc.dat). `label` names the backup in messages. */
export function unpackDirectoryDump(source: AsyncIterable<Buffer>, work: string, label: string): Promise<string> {
  return unpackTarredFolder(source, work, label, {
    folder: DIRECTORY_IN_TAR,
    marker: 'toc.dat',
    kind: 'a directory-format dump',
  });
}
