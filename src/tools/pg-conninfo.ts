/**
 * The connection string handed to libpq tools as `--dbname`. libpq reads a `--dbname` holding
 * `=` as a connection string of its own, so a database named `x sslmode=disable` would switch
 * TLS off; a string built here carries every setting itself, each value quoted, so the name is
 * only ever a name and the configured host, port, user and TLS are the ones used.
 */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  /** libpq's sslmode; left to the environment (PGSSLMODE) when not given. */
  sslmode?: string;
  sslrootcert?: string;
}

/** A libpq connection-string value: single-quoted, with `\` and `'` escaped by a backslash. */
export function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function pgConnectionString(connection: PgConnection): string {
  const settings: [string, string | undefined][] = [
    ['dbname', connection.database],
    ['host', connection.host],
    ['port', String(connection.port)],
    ['user', connection.user],
    ['sslmode', connection.sslmode],
    ['sslrootcert', connection.sslrootcert],
  ];
  return settings
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${conninfoValue(value)}`)
    .join(' ');
}
