/**
 * What goes into the dbtools layer. Bumping a version is editing this file (see README.md).
 */

/** Where Lambda unpacks the layer; its binaries' loader and library paths are patched to it. */
export const LAYER_PREFIX = '/opt/dbtools';

/** The Debian suite the clients, their libraries and the C library all come from. */
export const DEFAULT_SUITE = 'testing';
export const DEFAULT_POSTGRES_MAJOR = 18;

export interface ArchSpec {
  /** The name Lambda uses. */
  lambda: 'x86_64' | 'arm64';
  /** The name Debian uses. */
  debian: 'amd64' | 'arm64';
  triplet: string;
  loader: string;
  /** What readelf -h says in its Machine: line. */
  elfMachine: string;
}

export const ARCHES: Record<string, ArchSpec> = {
  x86_64: {
    lambda: 'x86_64',
    debian: 'amd64',
    triplet: 'x86_64-linux-gnu',
    loader: 'ld-linux-x86-64.so.2',
    elfMachine: 'X86-64',
  },
  arm64: {
    lambda: 'arm64',
    debian: 'arm64',
    triplet: 'aarch64-linux-gnu',
    loader: 'ld-linux-aarch64.so.1',
    elfMachine: 'AArch64',
  },
};

export function packagesFor(postgresMajor: number): string[] {
  return [`postgresql-client-${postgresMajor}`, 'mariadb-client', 'mariadb-client-core', 'libmariadb3', 'libc6'];
}

/** Binaries taken into bin/, by where each package installs them. */
export function binariesFor(postgresMajor: number): { name: string; path: string }[] {
  const pg = `usr/lib/postgresql/${postgresMajor}/bin`;
  return [
    { name: 'pg_dump', path: `${pg}/pg_dump` },
    { name: 'pg_restore', path: `${pg}/pg_restore` },
    { name: 'pg_dumpall', path: `${pg}/pg_dumpall` },
    { name: 'psql', path: `${pg}/psql` },
    { name: 'mariadb-dump', path: 'usr/bin/mariadb-dump' },
    { name: 'mariadb', path: 'usr/bin/mariadb' },
  ];
}

/** The MySQL names, as links to the MariaDB tools (what mariadb-client-compat would install). */
export const COMPAT_LINKS: Record<string, string> = { mysqldump: 'mariadb-dump', mysql: 'mariadb' };

/** MariaDB client authentication plugins (caching_sha2_password, ed25519, …), dlopen'ed at login. */
export function pluginFolder(arch: ArchSpec): string {
  return `usr/lib/${arch.triplet}/libmariadb3/plugin`;
}

/**
 * layer.json: what a built layer says of itself. The build writes it; the tool resolver
 * (src/tools/resolver.ts) reads it to start the binaries through the layer's own loader.
 */
export interface LayerManifest {
  prefix: string;
  arch: ArchSpec['lambda'];
  suite: string;
  postgresMajor: number;
  /** Relative to the layer's folder, like libraryDir and pluginDir. */
  loader: string;
  libraryDir: string;
  pluginDir: string;
  binaries: string[];
  packages: Record<string, string>;
}
