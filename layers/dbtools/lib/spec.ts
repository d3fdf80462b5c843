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

/**
 * MySQL's own clients come from this suite: Debian testing carries no MySQL, sid does. apt
 * takes from it only what the default suite lacks (it is pinned below the default suite), so
 * the C library and every library that testing has stay testing's.
 */
export const DEFAULT_MYSQL_SUITE = 'sid';

/**
 * The packages, in groups that apt resolves one at a time: MySQL's client and MariaDB's conflict
 * in Debian (both are a virtual-mysql-client), so no one install holds both, yet the layer needs
 * both (each family's dump is restored by its own client). When two groups pick different
 * versions of one library, the newer is taken.
 */
export function packageGroupsFor(postgresMajor: number): string[][] {
  return [
    [
      `postgresql-client-${postgresMajor}`,
      'mariadb-client',
      'mariadb-client-core',
      'libmariadb3',
      'libc6',
      'coreutils',
    ],
    ['mysql-client-core', 'libc6'],
  ];
}

/** Binaries taken into bin/, by the package that installs each and where. */
export function binariesFor(postgresMajor: number): { name: string; path: string; from: string }[] {
  const pg = `usr/lib/postgresql/${postgresMajor}/bin`;
  const postgres = `postgresql-client-${postgresMajor}`;
  return [
    { name: 'pg_dump', path: `${pg}/pg_dump`, from: postgres },
    { name: 'pg_restore', path: `${pg}/pg_restore`, from: postgres },
    { name: 'pg_dumpall', path: `${pg}/pg_dumpall`, from: postgres },
    { name: 'psql', path: `${pg}/psql`, from: postgres },
    { name: 'mariadb-dump', path: 'usr/bin/mariadb-dump', from: 'mariadb-client' },
    { name: 'mariadb', path: 'usr/bin/mariadb', from: 'mariadb-client-core' },
    // MySQL's own, not links to MariaDB's: mariadb-dump's first line is one MySQL's client rejects.
    { name: 'mysqldump', path: 'usr/bin/mysqldump', from: 'mysql-client-core' },
    { name: 'mysql', path: 'usr/bin/mysql', from: 'mysql-client-core' },
  ];
}

/**
 * coreutils' libstdbuf, the library behind `stdbuf`: preloaded into a dump tool with _STDBUF_O set,
 * it gives the tool's standard output a buffer of that size. mariadb-dump and mysqldump write
 * through C's stdio, which buffers a pipe in 4 KiB: 215,000 writes for a 880 MB dump, each one a
 * wake-up and a read for Node (src/tools/output-buffer.ts has the figures).
 */
export const OUTPUT_BUFFER_LIBRARY = {
  name: 'libstdbuf.so',
  path: 'usr/libexec/coreutils/libstdbuf.so',
  from: 'coreutils',
} as const;

/**
 * Client authentication plugins, dlopen'ed at login, one folder per client family: MariaDB's
 * (caching_sha2_password, ed25519, …) and MySQL's. `tools` lists the binaries that read `dir`;
 * `only`, when given, the plugins taken.
 */
export function pluginFolders(
  arch: ArchSpec,
): { source: string; dir: string; from: string; tools?: string[]; only?: string[] }[] {
  return [
    { source: `usr/lib/${arch.triplet}/libmariadb3/plugin`, dir: 'lib/plugin', from: 'libmariadb3' },
    {
      source: 'usr/lib/mysql/plugin',
      dir: 'lib/mysql-plugin',
      from: 'mysql-client-core',
      tools: ['mysqldump', 'mysql'],
      // MySQL 9's client no longer builds in mysql_native_password, which MySQL 8 users (and
      // MariaDB's root) still log in with. caching_sha2_password and the cleartext plugin (IAM
      // tokens) are built in. The Kerberos, WebAuthn, OCI and OpenID plugins are 6.5 MB each.
      only: ['mysql_native_password.so'],
    },
  ];
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
  /** The MariaDB clients' plugin folder: every binary's, unless toolPluginDirs names another. */
  pluginDir: string;
  /** Binaries whose plugins sit in a folder of their own (MySQL's clients). */
  toolPluginDirs?: Record<string, string>;
  /** Where the MySQL clients came from when it is not `suite`. */
  mysqlSuite?: string;
  binaries: string[];
  /** The stdio buffer library (OUTPUT_BUFFER_LIBRARY), relative; absent in layers built before it. */
  outputBufferLibrary?: string;
  packages: Record<string, string>;
}
