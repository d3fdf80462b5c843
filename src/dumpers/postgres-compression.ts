/**
 * How pg_dump compresses a target's archive: the method and level the config chose (or the
 * default), checked against the pg_dump at hand, and the one `--compress` flag every pg_dump
 * invocation gets (custom and directory formats alike). zstd and lz4 came with pg_dump 16, and
 * so did the `method:level` spelling; older ones know gzip levels only.
 */
import type { Target } from '../config/load.ts';
import { chosenCompression, compressionLabel, type Compression } from '../engines/compression.ts';
import { VersionMismatchError } from '../errors.ts';
import { pgMajor } from '../tools/pg-version.ts';

/** The first pg_dump and pg_restore that read and write zstd and lz4 archives. */
export const PG_ZSTD_LZ4_MAJOR = 16;

export interface PgDumpCompression {
  compression: Compression;
  /** Why the compression is not what the config implied (the default zstd on an old pg_dump), for the log. */
  note?: string;
}

/**
 * The compression this target's dump gets from a pg_dump of `pgDumpVersion`. The default (zstd)
 * falls back to gzip on a pg_dump older than 16, with a note saying so; zstd or lz4 asked for
 * by the config cannot be honoured there and fail the run before anything is dumped.
 */
export function pgDumpCompression(target: Target, pgDumpVersion: string): PgDumpCompression {
  const { compression, explicit } = chosenCompression('postgres', target.dump);
  if (!needsPg16(compression) || pgMajor(pgDumpVersion) >= PG_ZSTD_LZ4_MAJOR) return { compression };
  if (explicit)
    throw new VersionMismatchError(
      `targets.${target.name}.dump.compression is ${compression.method}, which pg_dump ${pgDumpVersion} cannot write: ` +
        `zstd and lz4 need pg_dump ${PG_ZSTD_LZ4_MAJOR} or newer. Use the dbtools layer (it ships the newest client) or set dump.compression: gzip`,
    );
  return {
    compression: { method: 'gzip' },
    note: `pg_dump ${pgDumpVersion} cannot write the default ${compressionLabel(compression)} (pg_dump ${PG_ZSTD_LZ4_MAJOR}+ can): the archive is compressed with gzip instead`,
  };
}

/** The `--compress` flag for this target's dump by a pg_dump of `pgDumpVersion`: what the dumper passes. */
export function pgDumpCompressArgs(target: Target, pgDumpVersion: string): string[] {
  return pgCompressArgs(pgDumpCompression(target, pgDumpVersion).compression, pgMajor(pgDumpVersion));
}

export function needsPg16(compression: Compression): boolean {
  return compression.method === 'zstd' || compression.method === 'lz4';
}

/**
 * The `--compress` flag for a pg_dump of major version `pgDumpMajor`: `--compress=zstd:1` from
 * 16 on, the bare gzip level (`--compress=6`, `--compress=0` for none) before; none when pg_dump's
 * own default (gzip) is meant.
 */
export function pgCompressArgs(compression: Compression, pgDumpMajor: number): string[] {
  if (pgDumpMajor >= PG_ZSTD_LZ4_MAJOR) return [`--compress=${compressionLabel(compression)}`];
  if (needsPg16(compression))
    throw new VersionMismatchError(
      `pg_dump ${pgDumpMajor} cannot write ${compression.method}: it needs pg_dump ${PG_ZSTD_LZ4_MAJOR} or newer`,
    );
  if (compression.method === 'none') return ['--compress=0'];
  return compression.level === undefined ? [] : [`--compress=${compression.level}`];
}

/**
 * Why a pg_restore of `pgRestoreVersion` cannot read an archive, from what its manifest says
 * (the compression and the pg_dump that wrote it), or undefined when it can. zstd and lz4 need
 * pg_restore 16; and a pg_restore reads no archive format newer than its own: pg_dump 16 wrote
 * format 1.15, pg_dump 17 and 18 write 1.16. `custom` (manifests written before the method
 * could be chosen) is gzip, which every pg_restore reads.
 */
export function pgRestoreCannotRead(
  archive: { compression: string; pgDumpVersion: string },
  pgRestoreVersion: string,
): string | undefined {
  const reasons: { major: number; why: string }[] = [];
  if (archive.compression === 'zstd' || archive.compression === 'lz4')
    reasons.push({
      major: PG_ZSTD_LZ4_MAJOR,
      why: `it is compressed with ${archive.compression} (pg_restore ${PG_ZSTD_LZ4_MAJOR}+ reads that)`,
    });
  const dumpMajor = pgMajor(archive.pgDumpVersion);
  const formatMajor = dumpMajor >= 17 ? 17 : dumpMajor >= 16 ? 16 : 0;
  if (formatMajor > 0)
    reasons.push({
      major: formatMajor,
      why: `pg_dump ${archive.pgDumpVersion} wrote it (pg_restore ${formatMajor}+ reads its archive format)`,
    });
  const restoreMajor = pgMajor(pgRestoreVersion);
  const unmet = reasons.filter((r) => restoreMajor < r.major);
  if (unmet.length === 0) return undefined;
  const needed = Math.max(...unmet.map((r) => r.major));
  return (
    `pg_restore ${pgRestoreVersion} cannot read this backup: ${unmet.map((r) => r.why).join(', and ')}. ` +
    `Use pg_restore ${needed} or newer (the dbtools layer ships one: point STEPVAULT_TOOLS_DIR at a built layer, or install postgresql-client-${needed} or newer)`
  );
}
