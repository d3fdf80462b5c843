/**
 * How a step reaches a target's database: its host, port, database, user and TLS, and the password
 * it logs in with. From the config's keys, or from its connection URL, resolved now like every
 * secret. The URL's password goes where every password goes (the tool's environment or a 0600
 * file), never into arguments or logs; the URL itself is never repeated.
 */
import { isSupabaseHost, parseConnectionUrl, transactionPoolerProblem } from '../config/connection-url.ts';
import { configuredConnection, type ConnectedTarget, type Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { rdsAuthToken } from '../dumpers/iam-auth.ts';
import { engineForScheme, engineInfo, restoreFamilyOf } from '../engines/registry.ts';
import { ConfigError } from '../errors.ts';
import { rememberSecret } from '../redact.ts';

export interface TargetConnection {
  target: ConnectedTarget;
  /** The resolved password, an RDS IAM token, or undefined when the target logs in without one. */
  password?: string;
}

export async function connectTarget(target: Target, secrets: SecretResolver): Promise<TargetConnection> {
  if (!target.url) {
    const connected = configuredConnection(target);
    const password = target.iamAuth
      ? await rdsAuthToken(connected)
      : target.password === undefined
        ? undefined
        : await secrets.resolve(target.password, `targets.${target.name}.password`);
    return { target: connected, ...(password !== undefined && { password }) };
  }
  const where = `targets.${target.name}.url`;
  const url = parseConnectionUrl(await secrets.resolve(target.url.reference, where), where);
  checkScheme(target, url.scheme, where);
  const { alongside } = target.url;
  const agree = (
    key: keyof typeof alongside,
    fromUrl: string | number | undefined,
    same = fromUrl === alongside[key],
  ) => {
    if (fromUrl === undefined || alongside[key] === undefined || same) return;
    // The values are not repeated: a user or database name may sit beside a password in the URL.
    throw new ConfigError(
      `${where} and targets.${target.name}.${key === 'tlsMode' ? 'tls.mode' : key} disagree (the URL's ${key === 'tlsMode' ? 'sslmode' : key} is another); keep one of them`,
    );
  };
  agree('host', url.host, url.host.toLowerCase() === alongside.host?.toLowerCase());
  agree('port', url.port);
  agree('database', url.database);
  agree('user', url.user);
  // A default tls.mode (prefer) is not a choice the config made.
  if (alongside.tlsMode !== 'prefer') agree('tlsMode', url.tls.mode);
  if (url.password !== undefined && alongside.password !== undefined) {
    throw new ConfigError(
      `${where} carries a password and targets.${target.name}.password names another; keep one of them`,
    );
  }
  const port = url.port ?? alongside.port ?? engineInfo(target.engine).defaultPort;
  const pooler = transactionPoolerProblem(url.host, port);
  if (pooler) throw new ConfigError(`${where}: ${pooler}`);
  const database = url.database ?? alongside.database;
  if (database === undefined) {
    throw new ConfigError(`${where} names no database: add it as the URL's path (…:${port}/postgres), or set database`);
  }
  if (database.startsWith('-') || url.user?.startsWith('-')) {
    throw new ConfigError(
      `${where}: a database or user name must not start with "-" (a dump tool would read an option)`,
    );
  }
  const user = url.user ?? alongside.user;
  const connected: ConnectedTarget = {
    ...target,
    host: url.host,
    port,
    database,
    ...(user !== undefined && { user }),
    tls: {
      ...target.tls,
      ...(url.tls.mode && { mode: url.tls.mode }),
      // A hosted server (Supabase) takes TLS; "prefer" would quietly fall back to none.
      ...(!url.tls.mode && alongside.tlsMode === undefined && isSupabaseHost(url.host) && { mode: 'require' as const }),
      ...(url.tls.ca !== undefined && { ca: url.tls.ca }),
    },
  };
  if (url.password !== undefined) {
    rememberSecret(url.password);
    return { target: connected, password: url.password };
  }
  const password =
    alongside.password === undefined
      ? undefined
      : await secrets.resolve(alongside.password, `targets.${target.name}.password`);
  return { target: connected, ...(password !== undefined && { password }) };
}

/**
 * The URL must name a server of the target's engine; mysql:// and mariadb:// speak one protocol
 * and pass for each other.
 */
function checkScheme(target: Target, scheme: string, where: string): void {
  const engine = engineForScheme(scheme);
  const family = restoreFamilyOf(target.engine);
  if (engine && (engine === target.engine || (family === 'mysql' && restoreFamilyOf(engine) === 'mysql'))) return;
  const schemes = engineInfo(target.engine).urlSchemes.map((s) => `${s}://`);
  if (family === 'mysql' && !schemes.includes('mysql://')) schemes.push('mysql://');
  if (family === 'mysql' && !schemes.includes('mariadb://')) schemes.push('mariadb://');
  throw new ConfigError(
    engine
      ? `${where} is a ${scheme}:// URL (${engineInfo(engine).label}), but targets.${target.name}.engine is ${target.engine}; use a ${schemes.join(' or ')} URL, or set engine: ${engine}`
      : `${where} is a ${scheme}:// URL; a ${target.engine} target takes ${schemes.join(' or ')}`,
  );
}
