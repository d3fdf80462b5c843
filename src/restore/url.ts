/**
 * `--into` URLs: postgres://user[:password]@host[:port]/database, mysql:// or mariadb:// likewise (each engine says its
 * schemes).
 */
import { engineForScheme, engineInfo, restorableSchemes } from '../engines/registry.ts';
import type { RestoreFamily } from '../engines/types.ts';
import { ConfigError } from '../errors.ts';

export interface DatabaseUrl {
  family: RestoreFamily;
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

const EXAMPLE = 'postgres://postgres@127.0.0.1:5432/orders_restored (or mysql://root@127.0.0.1:3306/shop_restored)';

/**
 * The URL as it may be shown back to the user: whatever stands between the user name and the last
 * `@` is a password, even when the URL is too malformed to parse (an unencoded `@` or `/` in the
 * password, a bad port, no scheme).
 */
export function redactUrlText(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const start = /^[^:/?#@\s]*:\/\/|^\/\//.exec(text)?.[0].length ?? 0;
  const userInfo = text.slice(start, at);
  const colon = userInfo.indexOf(':');
  if (colon < 0) return text;
  return `${text.slice(0, start)}${userInfo.slice(0, colon)}:***${text.slice(at)}`;
}

/**
 * `server`: the URL names a server, not a database (restore --all); a path, when there is one, is
 * put before each database's name.
 */
export function parseDatabaseUrl(text: string, options: { server?: boolean } = {}): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`--into "${redactUrlText(text)}" is not a URL; write it as ${EXAMPLE}`);
  }
  const engine = engineForScheme(url.protocol.replace(/:$/, ''));
  const family = engine && engineInfo(engine).restoreFamily;
  if (!engine || !family) {
    throw new ConfigError(
      `--into: "${url.protocol}//" is not a database URL; use ${restorableSchemes()
        .map((s) => `${s}://`)
        .join(', ')}, e.g. ${EXAMPLE}`,
    );
  }
  const decode = (part: string, what: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new ConfigError(
        `--into "${redactUrlText(text)}": the ${what} has a malformed %-escape; write a literal % as %25`,
      );
    }
  };
  const database = decode(url.pathname.replace(/^\//, ''), 'database name');
  if ((!database && !options.server) || database.includes('/'))
    throw new ConfigError(`--into: name the database to restore into after the host, e.g. ${EXAMPLE}`);
  if (!url.hostname) throw new ConfigError(`--into: the URL has no host; e.g. ${EXAMPLE}`);
  const user = decode(url.username, 'user name');
  const password = decode(url.password, 'password');
  return {
    family,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : engineInfo(engine).defaultPort,
    user: user || engineInfo(engine).defaultUser,
    ...(password && { password }),
    database,
  };
}
