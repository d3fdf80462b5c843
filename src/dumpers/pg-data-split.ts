/**
 * The archive check of a parallel dump reads its folder with as many pg_restore processes as the
 * dump had workers: pg_restore decompresses one data block after another, and alone it took 0.6 s
 * of one core for the 1 GiB benchmark database while the other core waited. Each process gets a
 * `--use-list` of its share of the data entries, balanced by the size of their files; the first
 * also gets every other entry (large objects, sequence values: whatever is not a file of its own),
 * so that together they read everything one pass would.
 */

/** One `pg_restore --list` line that names an entry: its dump id first. */
const ENTRY = /^(\d+);/;

/**
 * Splits the entries of `listing` (pg_restore --list of the folder) into `workers` use-lists.
 * `dataFileSize` gives the size of an entry's data file in the folder, or undefined when it has none.
 * Fewer lists than workers come back when there are fewer data files than workers.
 */
export function splitDataEntries(
  listing: string,
  workers: number,
  dataFileSize: (dumpId: string) => number | undefined,
): string[] {
  const withFile: { line: string; size: number }[] = [];
  const rest: string[] = [];
  for (const line of listing.split('\n')) {
    const id = ENTRY.exec(line)?.[1];
    if (id === undefined) continue;
    const size = dataFileSize(id);
    if (size === undefined) rest.push(line);
    else withFile.push({ line, size });
  }
  const count = Math.max(1, Math.min(workers, withFile.length));
  const shares = Array.from({ length: count }, () => ({ lines: [] as string[], bytes: 0 }));
  // Largest first, each to the lightest share so far: within a file's size of the best split.
  for (const entry of withFile.sort((a, b) => b.size - a.size)) {
    const lightest = shares.reduce((best, share) => (share.bytes < best.bytes ? share : best));
    lightest.lines.push(entry.line);
    lightest.bytes += entry.size;
  }
  shares[0]!.lines.push(...rest);
  return shares.map((share) => `${share.lines.join('\n')}\n`);
}

/** The names pg_dump gives a table's data file in its folder, by compression: `<dump id>` and one of these. */
export const DATA_FILE_ENDINGS = ['.dat.zst', '.dat.lz4', '.dat.gz', '.dat'] as const;

/** The dump id a file of pg_dump's folder holds the data of (`3368.dat.zst` → 3368), if any. */
export function dumpIdOfDataFile(name: string): string | undefined {
  const id = /^\d+/.exec(name)?.[0];
  return id !== undefined && DATA_FILE_ENDINGS.some((ending) => name === `${id}${ending}`) ? id : undefined;
}
