/**
 * The runner of a target that names none (nor its defaults): a pure function of the config, so
 * `stepvault` can say it at load and the deployment can place functions by it.
 *
 * In this order:
 * 1. An engine whose server writes the backup itself (SQL Server) cannot stream: `efs`.
 * 2. A target with a restore drill: `efs` (the drill restores the staged dump).
 * 3. A parallel dump (`dump.jobs` above 1): `efs`. pg_dump's directory format is written to disk
 *    before it is stored, and the lambda runner has none to speak of (see README, "Parallel dumps").
 * 3b. A whole server (`databases`): `efs`, for the same reason: one dump per database is
 *    written into a folder before the folder is stored.
 * 4. A host only a private network reaches: `efs`. Private means a private, loopback, link-local
 *    or shared (CGNAT) address, IPv4 or IPv6, a socket folder, a name without a dot (`localhost`,
 *    a compose service) or a name under a private suffix (`.internal`, `.local`, `.lan`, …).
 * 5. A config that names a VPC (`deploy.vpc`) and a host given by name: `efs`. Whether the name
 *    resolves inside the VPC cannot be known when the config is read; such a config ran every dump
 *    in its VPC until runners existed, and keeps doing so until it says otherwise.
 * 6. Any other host (a public address, or a public name with no VPC named): `lambda`.
 * A host in a connection URL (`url:`) is a secret, unknown here: `efs` when a VPC is named, else `lambda`.
 */
import { isIP } from 'node:net';

export interface RunnerDecision<R extends string = 'lambda' | 'efs'> {
  runner: R;
  /** Why, as a sentence for the mail and the CLI. */
  reason: string;
}

export interface RunnerFacts {
  engine: string;
  /** Undefined when the host is in a connection URL, a secret read only at run time. */
  host: string | undefined;
  /** The engine's dump tool can send its output into a stream (not SQL Server's BACKUP). */
  streams: boolean;
  drill: boolean;
  /** The dump runs pg_dump --jobs into a folder on local disk (dump.jobs above 1). */
  parallel: boolean;
  /** The target backs up a whole server (`databases`): one dump per database into a folder on local disk. */
  wholeServer?: boolean;
  /** The config names a VPC (deploy.vpc). */
  vpcNamed: boolean;
}

const PRIVATE_SUFFIXES = [
  '.internal',
  '.local',
  '.localhost',
  '.localdomain',
  '.lan',
  '.home.arpa',
  '.intranet',
  '.corp',
];

export function defaultRunner(facts: RunnerFacts): RunnerDecision {
  if (!facts.streams)
    return { runner: 'efs', reason: `engine ${facts.engine} writes its backup file itself, which only efs stages` };
  if (facts.drill) return { runner: 'efs', reason: 'the restore drill restores the staged dump, which only efs keeps' };
  if (facts.parallel)
    return { runner: 'efs', reason: 'dump.jobs runs pg_dump in parallel into a folder on disk, which efs stages' };
  if (facts.wholeServer)
    return {
      runner: 'efs',
      reason: 'databases dumps each database of the server into a folder on disk, which efs stages',
    };
  if (facts.host === undefined) {
    return facts.vpcNamed
      ? { runner: 'efs', reason: 'deploy.vpc is set and the host, in the connection URL, may be inside it' }
      : { runner: 'lambda', reason: 'the host is in the connection URL and no deploy.vpc is set: it must be public' };
  }
  const privacy = privateHost(facts.host);
  if (privacy)
    return { runner: 'efs', reason: `host ${facts.host} is ${privacy}, reached only from inside its network` };
  if (facts.vpcNamed && isIP(unbracket(facts.host)) === 0)
    return {
      runner: 'efs',
      reason: `deploy.vpc is set and host ${facts.host} is a name that may resolve inside it`,
    };
  return { runner: 'lambda', reason: `host ${facts.host} is public` };
}

/** What makes a host private, in words, or undefined for a public one. */
export function privateHost(host: string): string | undefined {
  if (host.startsWith('/')) return 'a socket folder';
  const bare = unbracket(host).toLowerCase();
  const family = isIP(bare);
  if (family === 4) return privateIPv4(bare) ? 'a private address' : undefined;
  if (family === 6) return privateIPv6(bare) ? 'a private address' : undefined;
  const name = bare.replace(/\.$/, '');
  if (!name.includes('.')) return 'a name without a domain';
  if (PRIVATE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return 'a private name';
  return undefined;
}

function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function privateIPv4(address: string): boolean {
  const [a = 0, b = 0] = address.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

function privateIPv6(address: string): boolean {
  if (address === '::1' || address === '::') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return privateIPv4(mapped[1]!);
  const first = Number.parseInt(address.split(':')[0] || '0', 16);
  // fc00::/7 (unique local) and fe80::/10 (link-local).
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80;
}
