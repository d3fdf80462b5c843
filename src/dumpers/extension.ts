import type { Target } from '../config/load.ts';
import type { Engine } from '../engines/registry.ts';

/** How a MySQL or MariaDB dump is compressed, and the extension that says so. */
const COMPRESSIONS = { gzip: '.sql.gz', zstd: '.sql.zst' } as const;

export function compressionOf(target: Target): keyof typeof COMPRESSIONS {
  return target.dump.compression === 'zstd' ? 'zstd' : 'gzip';
}

const EXTENSIONS: Record<Engine, (target: Target) => string> = {
  postgres: () => '.dump',
  mysql: (target) => COMPRESSIONS[compressionOf(target)],
  mariadb: (target) => COMPRESSIONS[compressionOf(target)],
  mssql: () => '.bak',
};

/**
 * The file extension of a target's dump, with the leading dot. It lives apart from the dumpers:
 * Plan names the file before anything is dumped, and loading the dumpers to ask would bundle
 * SQL Server's driver (megabytes) into a function that never connects to a database.
 */
export function dumpExtension(target: Target): string {
  return EXTENSIONS[target.engine](target);
}
