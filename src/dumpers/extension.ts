import type { Target } from '../config/load.ts';
import { chosenCompression, type Compression } from '../engines/compression.ts';
import type { Engine } from '../engines/registry.ts';

/** How a MySQL or MariaDB dump is compressed, and the extension that says so. */
const SQL_EXTENSIONS: Record<string, string> = { gzip: '.sql.gz', zstd: '.sql.zst', none: '.sql' };

/** The compression a MySQL or MariaDB target's dump gets (the method and level the config chose, or the default). */
export function mysqlCompressionOf(target: Target): Compression {
  return chosenCompression(target.engine === 'mysql' ? 'mysql' : 'mariadb', target.dump).compression;
}

/** More than one pg_dump worker: the dump is pg_dump's directory format, stored as a tar of it. */
export function isParallelDump(target: Target): boolean {
  return (target.dump.jobs ?? 1) > 1;
}

const EXTENSIONS: Record<Engine, (target: Target) => string> = {
  // Custom-format archives keep their extension whatever compresses them inside.
  postgres: (target) => (isParallelDump(target) ? '.dump.tar' : '.dump'),
  mysql: (target) => SQL_EXTENSIONS[mysqlCompressionOf(target).method]!,
  mariadb: (target) => SQL_EXTENSIONS[mysqlCompressionOf(target).method]!,
  mssql: () => '.bak',
};

/**
 * The file extension of a target's dump, with the leading dot. It lives apart from the dumpers:
 * Plan names the file before anything is dumped, and loading the dumpers to ask would bundle
 * SQL Server's driver (megabytes) into a function that never connects to a database.
 */
export function dumpExtension(target: Target): string {
  // A whole server: one tar of every database's dump and the globals.
  if (target.databases) return '.server.tar';
  return EXTENSIONS[target.engine](target);
}
