/**
 * A target's connection as one URL (`url: env:DATABASE_URL`), the form hosting providers hand
 * out: postgres://, postgresql://, mysql:// and mariadb://, with `sslmode` and its kin in the
 * query. The URL is a secret (it usually carries the password), so nothing here ever repeats it:
 * messages name the part that is wrong, never its value, except a query option's name.
 */
import { ConfigError } from '../errors.ts';
import type { TlsOptions } from './schema.ts';

export type TlsMode = TlsOptions['mode'];

export interface ConnectionUrl {
  /** The scheme without "://". */
  scheme: string;
  host: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  tls: { mode?: TlsMode; ca?: string };
}

/** libpq's sslmode values, and MySQL's ssl-mode ones, as the tls.mode they mean. */
const TLS_MODES: Record<string, TlsMode> = {
  disable: 'disable',
  allow: 'prefer',
  prefer: 'prefer',
  require: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
  disabled: 'disable',
  preferred: 'prefer',
  required: 'require',
  verify_ca: 'verify-ca',
  verify_identity: 'verify-full',
};

/** Query options a provider's URL may carry that say nothing about what a dump needs. */
const IGNORED = new Set([
  'application_name',
  'connect_timeout',
  'channel_binding',
  'connection_limit',
  'pool_timeout',
  'charset',
  'timezone',
]);

const READ = 'sslmode, ssl-mode, ssl, sslaccept, sslrootcert, ssl-ca';

export function parseConnectionUrl(value: string, where: string): ConnectionUrl {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (!scheme) {
    throw new ConfigError(
      `${where} does not hold a connection URL; store one such as postgres://user:password@host:5432/database`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `${where} holds a ${scheme}:// URL that cannot be read (a password with @, / or # must be percent-encoded, e.g. %40 for @)`,
    );
  }
  if (url.hostname === '') throw new ConfigError(`${where} names no host: write it after "${scheme}://user@"`);
  const path = url.pathname.replace(/^\//, '');
  if (path.includes('/')) {
    throw new ConfigError(`${where}: the path must be one database name (…/orders), not a path with "/"`);
  }
  return {
    scheme,
    host: url.hostname,
    ...(url.port !== '' && { port: Number(url.port) }),
    ...(path !== '' && { database: decoded(path, 'database name', where) }),
    ...(url.username !== '' && { user: decoded(url.username, 'user', where) }),
    ...(url.password !== '' && { password: decoded(url.password, 'password', where) }),
    tls: tlsOf(url.searchParams, where),
  };
}

function decoded(value: string, part: string, where: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ConfigError(`${where}: the ${part} has a "%" that is not followed by two hex digits; encode "%" as %25`);
  }
}

function tlsOf(query: URLSearchParams, where: string): ConnectionUrl['tls'] {
  const tls: ConnectionUrl['tls'] = {};
  for (const [key, raw] of query) {
    const value = raw.toLowerCase();
    if (key === 'sslmode' || key === 'ssl-mode' || key === 'ssl_mode') {
      const mode = TLS_MODES[value];
      if (!mode) {
        throw new ConfigError(
          `${where}: ${key}=${raw} is not a TLS mode; use disable, prefer, require, verify-ca or verify-full (or MySQL's DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY)`,
        );
      }
      tls.mode = mode;
    } else if (key === 'ssl') {
      if (!['true', '1', 'false', '0'].includes(value)) {
        throw new ConfigError(`${where}: ssl=${raw} must be true or false`);
      }
      tls.mode ??= value === 'true' || value === '1' ? 'require' : 'disable';
    } else if (key === 'sslaccept') {
      if (value !== 'strict' && value !== 'accept_invalid_certs') {
        throw new ConfigError(`${where}: sslaccept=${raw} must be strict or accept_invalid_certs`);
      }
      tls.mode = value === 'strict' ? 'verify-full' : 'require';
    } else if (key === 'sslrootcert' || key === 'ssl-ca' || key === 'sslca') {
      if (raw === '') throw new ConfigError(`${where}: ${key} is empty; name the CA bundle file, or leave it out`);
      tls.ca = raw;
    } else if (!IGNORED.has(key)) {
      throw new ConfigError(
        `${where}: query option "${key}" is not one stepvault reads (it reads ${READ}, and ignores ${[...IGNORED].join(', ')}); remove it from the URL`,
      );
    }
  }
  return tls;
}

/** Supabase's pooler hosts and direct database hosts. */
export function isSupabaseHost(host: string): boolean {
  return /(^|\.)supabase\.(co|com)$/i.test(host);
}

/**
 * Supabase's transaction pooler (Supavisor, port 6543) hands each transaction to any server
 * connection: a dump's snapshot and session settings do not survive it.
 */
export function transactionPoolerProblem(host: string, port: number | undefined): string | undefined {
  if (port !== 6543 || !isSupabaseHost(host)) return undefined;
  return "port 6543 is Supabase's transaction pooler, which cannot hold a dump's session; use the session pooler (port 5432 on the same pooler host) or the direct host db.<project-ref>.supabase.co:5432";
}
