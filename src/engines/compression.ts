/**
 * How a dump is compressed: the methods each engine's dumper offers, the levels each method
 * takes, and the default, chosen by measurement (scripts/bench-compression.ts; figures in the
 * README, "Compression"). The config schema validates with these, the dumpers compress with
 * them and the manifest records what was used. No dumper is imported here: Plan and the config
 * loader read this file too.
 */

export const COMPRESSION_METHODS = ['zstd', 'lz4', 'gzip', 'none'] as const;
export type CompressionMethod = (typeof COMPRESSION_METHODS)[number];

/** A method and its level; `level` is absent for none, and where the tool's own default applies. */
export interface Compression {
  method: CompressionMethod;
  level?: number;
}

/** The levels each method takes (as pg_dump and Node's zlib accept them); none takes no level. */
export const COMPRESSION_LEVELS: Record<Exclude<CompressionMethod, 'none'>, { min: number; max: number }> = {
  zstd: { min: 1, max: 19 },
  lz4: { min: 1, max: 12 },
  gzip: { min: 0, max: 9 },
};

/** The engines whose dumps stepvault compresses, and with what. */
export type CompressingEngine = 'postgres' | 'mysql' | 'mariadb';

export function isCompressingEngine(engine: string): engine is CompressingEngine {
  return engine === 'postgres' || engine === 'mysql' || engine === 'mariadb';
}

/** pg_dump compresses its own archive (lz4 too); a MySQL dump is compressed by Node's zlib, which has no lz4. */
export const ENGINE_COMPRESSIONS: Record<CompressingEngine, readonly CompressionMethod[]> = {
  postgres: ['zstd', 'lz4', 'gzip', 'none'],
  mysql: ['zstd', 'gzip', 'none'],
  mariadb: ['zstd', 'gzip', 'none'],
};

/**
 * The defaults, by the figures of scripts/bench-compression.ts (2 shared cores; README,
 * "Compression"). CPU seconds are the steady figure there, wall time moved with the load:
 * - PostgreSQL, 513 MB database, pg_dump 18: zstd:1 took 2.6 s of pg_dump's CPU and 122 MB,
 *   against 12.0 s and 141 MB for pg_dump's default gzip (gzip:1: 5.4 s, 153 MB; zstd:3 and :6
 *   cost 2.4-3.7× the CPU for no smaller archive; lz4 1.9 s but 234 MB). Fastest that is no larger.
 * - MariaDB, 2 M rows (577 MB of SQL), zlib in Node: zstd 1 cost 7.2 s of the process's CPU and
 *   171 MB, gzip's default 13.4 s and 185 MB, gzip 1 10.5 s and 191 MB (4.0 s with no compression:
 *   reading and writing alone). zstd 1 is both the fastest and the smallest but for zstd 6.
 */
export const DEFAULT_COMPRESSION: Record<CompressingEngine, Required<Compression>> = {
  postgres: { method: 'zstd', level: 1 },
  mysql: { method: 'zstd', level: 1 },
  mariadb: { method: 'zstd', level: 1 },
};

/** What a target's dump section says about compression (both keys optional). */
export interface CompressionOptions {
  compression?: CompressionMethod | undefined;
  compressionLevel?: number | undefined;
}

/**
 * The compression a target asked for, and whether it chose the method itself. A level without a
 * method keeps the meaning it had before methods could be chosen: gzip at that level (for
 * PostgreSQL `--compress=N` was gzip's level, and MySQL's dumps were gzip unless told zstd).
 */
export function chosenCompression(
  engine: CompressingEngine,
  dump: CompressionOptions,
): { compression: Compression; explicit: boolean } {
  if (dump.compression === undefined && dump.compressionLevel === undefined)
    return { compression: DEFAULT_COMPRESSION[engine], explicit: false };
  const method = dump.compression ?? 'gzip';
  const level = dump.compressionLevel;
  // pg_dump's gzip level 0 meant "no compression" (`-Z 0`); pg_dump 16+ refuses gzip:0 and says none.
  if (engine === 'postgres' && method === 'gzip' && level === 0)
    return { compression: { method: 'none' }, explicit: true };
  return { compression: { method, ...(level !== undefined && method !== 'none' && { level }) }, explicit: true };
}

/**
 * The problem with a method/level pair for an engine, in words for `dump.<key> <message>`, or
 * undefined when it is fine.
 */
export function compressionProblem(
  engine: CompressingEngine,
  dump: CompressionOptions,
): { key: 'compression' | 'compressionLevel'; message: string } | undefined {
  const methods = ENGINE_COMPRESSIONS[engine];
  const method = dump.compression ?? (dump.compressionLevel !== undefined ? 'gzip' : undefined);
  if (method === undefined) return undefined;
  if (!methods.includes(method))
    return {
      key: 'compression',
      message: `cannot be ${method} for engine ${engine}: use one of ${methods.join(', ')}`,
    };
  const level = dump.compressionLevel;
  if (level === undefined) return undefined;
  if (method === 'none') return { key: 'compressionLevel', message: 'does not apply to compression none; remove it' };
  const range = COMPRESSION_LEVELS[method];
  if (level < range.min || level > range.max) {
    const implied = dump.compression === undefined ? ' (without dump.compression the level is gzip’s)' : '';
    return {
      key: 'compressionLevel',
      message: `must be ${range.min}-${range.max} for ${method}${implied}, not ${level}; ${method === 'gzip' && level > 9 ? 'set dump.compression: zstd for levels up to 19' : `pick a level in ${range.min}-${range.max}`}`,
    };
  }
  return undefined;
}

/** `zstd:1`, `gzip`, `none`: how messages, the manifest's readers and pg_dump spell it. */
export function compressionLabel(compression: Compression): string {
  return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`;
}
