/**
 * What is already in the database a restore goes into, and the rule that follows: a restore
 * never mixes a backup into a database that holds something unless the user said how (--clean
 * or --force), and that is decided before anything in it changes.
 */
import { ConfigError, PartialRestoreError } from '../errors.ts';
import type { DatabaseUrl } from './url.ts';

export interface DatabaseContents {
  exists: boolean;
  /** User objects, as "kind name" (e.g. "table public.orders"); empty for an empty database. */
  objects: string[];
}

export interface OverwriteChoice {
  clean?: boolean;
  force?: boolean;
}

const where = (url: DatabaseUrl) => `${url.host}:${url.port}/${url.database}`;

/** Refuses, before any change, a database that holds objects when neither --clean nor --force was given. */
export function checkRestorable(url: DatabaseUrl, contents: DatabaseContents, choice: OverwriteChoice): void {
  if (contents.objects.length === 0 || choice.clean || choice.force) return;
  const shown =
    contents.objects.slice(0, 3).join(', ') +
    (contents.objects.length > 3 ? `, … (${contents.objects.length} objects)` : '');
  throw new ConfigError(
    `database ${where(url)} is not empty (${shown}); nothing was changed. ` +
      `Restore into a new database name, or say what to do with what is there: ` +
      `--clean drops each object the backup contains before restoring it (other objects stay), ` +
      `--force restores on top of what is there as it is (a restore that then conflicts stops partway and leaves the database changed)`,
  );
}

/** The error for a restore that failed after it began changing the database: what changed and what to do. */
export function partialRestoreError(
  url: DatabaseUrl,
  created: boolean,
  cause: unknown,
  choice: OverwriteChoice = {},
): PartialRestoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const changed = created
    ? `The database ${url.database} was created by this restore and is partly restored. Drop it (DROP DATABASE ${url.database}) and restore again once the cause is fixed.`
    : `The database ${url.database} was changed (partly restored): it now holds part of the backup next to what it held before. ` +
      (choice.clean
        ? `Drop and recreate the database and restore into it again once the cause is fixed.`
        : `Re-run with --clean to replace the objects the backup contains, or drop and recreate the database and restore into it again.`);
  return new PartialRestoreError(`restore into ${where(url)} failed after it had begun: ${reason}\n${changed}`, {
    cause,
  });
}
