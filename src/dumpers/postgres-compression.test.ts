import { describe, expect, it } from 'vitest';
import type { Target } from '../config/load.ts';
import { VersionMismatchError } from '../errors.ts';
import { pgCompressArgs, pgDumpCompressArgs, pgDumpCompression, pgRestoreCannotRead } from './postgres-compression.ts';

const target = { name: 'orders', engine: 'postgres', dump: {} } as Target;
const withDump = (dump: Target['dump']) => ({ ...target, dump }) as Target;

describe('pg_dump --compress', () => {
  it('spells method:level from pg_dump 16 on', () => {
    expect(pgCompressArgs({ method: 'zstd', level: 1 }, 18)).toEqual(['--compress=zstd:1']);
    expect(pgCompressArgs({ method: 'lz4' }, 16)).toEqual(['--compress=lz4']);
    expect(pgCompressArgs({ method: 'gzip', level: 6 }, 17)).toEqual(['--compress=gzip:6']);
    expect(pgCompressArgs({ method: 'none' }, 18)).toEqual(['--compress=none']);
  });

  it('is built for a target and the pg_dump at hand, as the dumper passes it', () => {
    expect(pgDumpCompressArgs(target, '18.6')).toEqual(['--compress=zstd:1']);
    expect(pgDumpCompressArgs(target, '15.20')).toEqual([]);
    expect(pgDumpCompressArgs(withDump({ compression: 'lz4', compressionLevel: 3 }), '17.1')).toEqual([
      '--compress=lz4:3',
    ]);
  });

  it('gives an older pg_dump the bare gzip level it knows, 0 for none', () => {
    expect(pgCompressArgs({ method: 'gzip', level: 6 }, 15)).toEqual(['--compress=6']);
    expect(pgCompressArgs({ method: 'gzip' }, 15)).toEqual([]);
    expect(pgCompressArgs({ method: 'none' }, 14)).toEqual(['--compress=0']);
    expect(() => pgCompressArgs({ method: 'zstd', level: 1 }, 15)).toThrow(VersionMismatchError);
  });
});

describe('the compression a pg_dump of a given version writes', () => {
  it('is the default zstd:1 on pg_dump 16 and newer', () => {
    expect(pgDumpCompression(target, '18.6')).toEqual({ compression: { method: 'zstd', level: 1 } });
    expect(pgDumpCompression(target, '16.0')).toEqual({ compression: { method: 'zstd', level: 1 } });
  });

  it('falls back from the default zstd to gzip on an older pg_dump, and says so', () => {
    expect(pgDumpCompression(target, '15.20')).toEqual({
      compression: { method: 'gzip' },
      note: 'pg_dump 15.20 cannot write the default zstd:1 (pg_dump 16+ can): the archive is compressed with gzip instead',
    });
  });

  it('refuses zstd or lz4 the config asked for when pg_dump is older than 16', () => {
    for (const method of ['zstd', 'lz4'] as const) {
      const attempt = () => pgDumpCompression(withDump({ compression: method }), '15.20');
      expect(attempt).toThrow(VersionMismatchError);
      expect(attempt).toThrow(
        `targets.orders.dump.compression is ${method}, which pg_dump 15.20 cannot write: zstd and lz4 need pg_dump 16 or newer. Use the dbtools layer (it ships the newest client) or set dump.compression: gzip`,
      );
    }
  });

  it('keeps gzip and none on any pg_dump', () => {
    expect(pgDumpCompression(withDump({ compressionLevel: 9 }), '15.20')).toEqual({
      compression: { method: 'gzip', level: 9 },
    });
    expect(pgDumpCompression(withDump({ compression: 'none' }), '12.1')).toEqual({ compression: { method: 'none' } });
  });
});

describe('which pg_restore reads a backup', () => {
  it('reads what its own and older pg_dumps wrote, gzip (`custom` in older manifests) or none from any', () => {
    expect(pgRestoreCannotRead({ compression: 'custom', pgDumpVersion: '15.20' }, '15.20')).toBeUndefined();
    expect(pgRestoreCannotRead({ compression: 'zstd', pgDumpVersion: '18.6' }, '18.6')).toBeUndefined();
    expect(pgRestoreCannotRead({ compression: 'lz4', pgDumpVersion: '18.6' }, '17.2')).toBeUndefined();
    expect(pgRestoreCannotRead({ compression: 'gzip', pgDumpVersion: '16.4' }, '16.1')).toBeUndefined();
  });

  it('says zstd and lz4 need pg_restore 16, and which version to use', () => {
    expect(pgRestoreCannotRead({ compression: 'zstd', pgDumpVersion: '16.4' }, '15.20')).toBe(
      'pg_restore 15.20 cannot read this backup: it is compressed with zstd (pg_restore 16+ reads that), and pg_dump 16.4 wrote it (pg_restore 16+ reads its archive format). ' +
        'Use pg_restore 16 or newer (the dbtools layer ships one: point STEPVAULT_TOOLS_DIR at a built layer, or install postgresql-client-16 or newer)',
    );
  });

  it('says a pg_dump 17+ archive needs pg_restore 17, whatever its compression', () => {
    expect(pgRestoreCannotRead({ compression: 'gzip', pgDumpVersion: '18.6' }, '16.4')).toMatch(
      /^pg_restore 16\.4 cannot read this backup: pg_dump 18\.6 wrote it \(pg_restore 17\+ reads its archive format\)\. Use pg_restore 17 or newer/,
    );
  });
});
