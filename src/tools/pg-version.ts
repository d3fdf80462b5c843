/** PostgreSQL client versions as their tools print them, apart from the dumper so restore can read them too. */

/** `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` → `15.20`. */
export function parsePgToolVersion(line: string): string {
  return /\)\s+(\d+(?:\.\d+)*)/.exec(line)?.[1] ?? line;
}

/** `18.6` → 18; `9.6.24` → 9. */
export function pgMajor(version: string): number {
  return Number.parseInt(version, 10);
}
