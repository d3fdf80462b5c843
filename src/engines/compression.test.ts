import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { chosenCompression, DEFAULT_COMPRESSION } from './compression.ts';

function configWith(engine: string, dump: string): string {
  return `
destinations: { local: { type: filesystem, path: ./backups } }
targets:
  orders: { engine: ${engine}, host: db.internal, database: orders, destinations: [local], dump: ${dump} }
`;
}

/** The message a user sees for a target's dump section, or undefined when it loads. */
function problem(engine: string, dump: string): string | undefined {
  try {
    parseConfig(configWith(engine, dump), '/etc/stepvault/stepvault.config.yml', '/etc/stepvault');
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

describe('dump.compression in the config', () => {
  it.each([
    ['postgres', '{ compression: zstd, compressionLevel: 19 }'],
    ['postgres', '{ compression: lz4, compressionLevel: 12 }'],
    ['postgres', '{ compression: gzip, compressionLevel: 1 }'],
    ['postgres', '{ compression: none }'],
    ['postgres', '{ compressionLevel: 0 }'],
    ['postgres', '{ compressionLevel: 9 }'],
    ['mariadb', '{ compression: zstd, compressionLevel: 3 }'],
    ['mysql', '{ compression: gzip, compressionLevel: 0 }'],
    ['mysql', '{ compression: none }'],
  ])('accepts %s with %s', (engine, dump) => {
    expect(problem(engine, dump)).toBeUndefined();
  });

  it.each([
    [
      'postgres',
      '{ compression: zstd, compressionLevel: 20 }',
      'targets.orders.dump.compressionLevel: must be 1-19 for zstd, not 20; pick a level in 1-19',
    ],
    [
      'postgres',
      '{ compression: zstd, compressionLevel: 0 }',
      'targets.orders.dump.compressionLevel: must be 1-19 for zstd, not 0; pick a level in 1-19',
    ],
    [
      'postgres',
      '{ compression: lz4, compressionLevel: 13 }',
      'targets.orders.dump.compressionLevel: must be 1-12 for lz4, not 13; pick a level in 1-12',
    ],
    [
      'postgres',
      '{ compression: gzip, compressionLevel: 10 }',
      'targets.orders.dump.compressionLevel: must be 0-9 for gzip, not 10; set dump.compression: zstd for levels up to 19',
    ],
    [
      'postgres',
      '{ compressionLevel: 12 }',
      'targets.orders.dump.compressionLevel: must be 0-9 for gzip (without dump.compression the level is gzip’s), not 12; set dump.compression: zstd for levels up to 19',
    ],
    [
      'postgres',
      '{ compression: none, compressionLevel: 3 }',
      'targets.orders.dump.compressionLevel: does not apply to compression none; remove it',
    ],
    [
      'mariadb',
      '{ compression: lz4 }',
      'targets.orders.dump.compression: cannot be lz4 for engine mariadb: use one of zstd, gzip, none',
    ],
    [
      'postgres',
      '{ compression: brotli }',
      'targets.orders.dump.compression: "brotli" (a string) is not allowed; use one of "zstd", "lz4", "gzip", "none"',
    ],
    [
      'mssql',
      '{ compression: zstd }',
      'targets.orders.dump.compression: does not apply to engine mssql; SQL Server compresses its own backup',
    ],
  ])('refuses %s with %s, naming the key and the fix', (engine, dump, message) => {
    expect(problem(engine, dump)).toContain(message);
  });
});

describe('the compression a target gets', () => {
  it('is the measured default when the config says nothing', () => {
    expect(chosenCompression('postgres', {})).toEqual({ compression: DEFAULT_COMPRESSION.postgres, explicit: false });
    expect(chosenCompression('mariadb', {})).toEqual({ compression: DEFAULT_COMPRESSION.mariadb, explicit: false });
  });

  it('keeps a level without a method as gzip’s, as older configs meant it', () => {
    expect(chosenCompression('postgres', { compressionLevel: 9 }).compression).toEqual({ method: 'gzip', level: 9 });
    expect(chosenCompression('mysql', { compressionLevel: 4 }).compression).toEqual({ method: 'gzip', level: 4 });
  });

  it('reads PostgreSQL’s gzip level 0 as none, which is what pg_dump -Z 0 did', () => {
    expect(chosenCompression('postgres', { compressionLevel: 0 }).compression).toEqual({ method: 'none' });
    expect(chosenCompression('mysql', { compressionLevel: 0 }).compression).toEqual({ method: 'gzip', level: 0 });
  });

  it('takes the method, and the level when there is one', () => {
    expect(chosenCompression('postgres', { compression: 'lz4' })).toEqual({
      compression: { method: 'lz4' },
      explicit: true,
    });
    expect(chosenCompression('postgres', { compression: 'zstd', compressionLevel: 6 }).compression).toEqual({
      method: 'zstd',
      level: 6,
    });
  });
});
