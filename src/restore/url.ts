/** `--into` URLs: postgres://user[:password]@host[:port]/database, mysql:// or mariadb:// likewise. */
import { ConfigError } from '../errors.ts';

export interface DatabaseUrl {
  family: 'postgres' | 'mysql';
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

const SCHEMES: Record<string, DatabaseUrl['family']> = { 'postgres:': 'postgres', 'postgresql:': 'postgres', 'mysql:': 'mysql', 'mariadb:': 'mysql' };
const EXAMPLE = 'postgres://postgres@127.0.0.1:5432/orders_restored (or mysql://root@127.0.0.1:3306/shop_restored)';

export function parseDatabaseUrl(text: string): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`--into "${text}" is not a URL; write it as ${EXAMPLE}`);
  }
  const family = SCHEMES[url.protocol];
  if (!family) throw new ConfigError(`--into: "${url.protocol}//" is not a database URL; use postgres://, mysql:// or mariadb://, e.g. ${EXAMPLE}`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) throw new ConfigError(`--into: name the database to restore into after the host, e.g. ${EXAMPLE}`);
  if (!url.hostname) throw new ConfigError(`--into: the URL has no host; e.g. ${EXAMPLE}`);
  return {
    family,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : family === 'postgres' ? 5432 : 3306,
    user: decodeURIComponent(url.username) || (family === 'postgres' ? 'postgres' : 'root'),
    ...(url.password && { password: decodeURIComponent(url.password) }),
    database,
  };
}
