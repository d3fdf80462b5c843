/**
 * What "the raw tool at stepvault's settings" means, asked of stepvault itself: the target is
 * parsed from the same config the workflow runs, and the arguments come from the dumpers' own
 * builders (pgDumpArgs with pgDumpCompressArgs, mysqlDumpArgs, mysqlCompressionOf), so the
 * comparison follows whatever the dumpers do today. A setting the config schema refuses (an
 * option not in this version) is reported as not available instead of being guessed.
 */
import { getConnectedTarget, parseConfig, type ConnectedTarget } from '../../src/config/load.ts';
import { mysqlCompressionOf } from '../../src/dumpers/extension.ts';
import { mysqlDumpArgs } from '../../src/dumpers/mysql.ts';
import { pgDumpArgs } from '../../src/dumpers/postgres.ts';
import { pgDumpCompressArgs } from '../../src/dumpers/postgres-compression.ts';
import type { ToolCommand } from '../../src/tools/resolver.ts';
import type { BenchEngine } from './databases.ts';

/** The part of a target's YAML that says which database; the destinations and dump options come from the caller. */
export function targetYaml(engine: BenchEngine, database: string, extra = ''): string {
  const user = engine === 'postgres' ? 'postgres' : 'root';
  const port = engine === 'postgres' ? 5432 : 3306;
  return `{ engine: ${engine}, host: 127.0.0.1, port: ${port}, user: ${user}, database: ${database}${extra} }`;
}

/** The target as stepvault reads it, or the config error that says the option does not exist (yet). */
export function benchTarget(
  engine: BenchEngine,
  database: string,
  extra = '',
): ConnectedTarget | { unavailable: string } {
  const yaml = `defaults: { destinations: [local] }
destinations: { local: { type: filesystem, path: ./backups } }
targets:
  bench: ${targetYaml(engine, database, extra)}
`;
  try {
    return getConnectedTarget(parseConfig(yaml, 'bench', process.cwd()), 'bench');
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
}

/** A raw run: the tool's arguments, and the compressor its output goes through (MariaDB). */
export interface RawCommand {
  args: string[];
  /** For a directory-format dump, where the output goes is a folder given in the arguments. */
  directory?: boolean;
  compressor?: [string, string[]];
  /** In words, for the table. */
  settings: string;
}

const CONNECTION_ARGS = /^--(dbname|defaults-file|plugin-dir|host|port|protocol|user|ssl|skip-ssl)/;

/** What the arguments say beyond where to connect: the settings column. */
function describe(args: string[]): string {
  return args
    .filter((a) => a.startsWith('-') && !CONNECTION_ARGS.test(a) && a !== '--no-password' && a !== '--')
    .join(' ');
}

export function pgRaw(
  target: ConnectedTarget,
  file: string,
  kind: 'default' | 'stepvault' | 'parallel',
  pgDumpVersion = '18',
): RawCommand {
  // The compression stepvault gives a pg_dump of that version (the layer's is 18).
  const args = pgDumpArgs(target, pgDumpCompressArgs(target, pgDumpVersion));
  if (kind === 'default') {
    const connection = args.filter((a) => a.startsWith('--dbname=') || a === '--no-password');
    return { args: [...connection, '--format=custom', `--file=${file}`], settings: '-Fc (gzip, its default)' };
  }
  const compression = args.some((a) => a.startsWith('--compress') || a.startsWith('-Z')) ? '' : ' (gzip, the default)';
  if (kind === 'stepvault') return { args: [...args, `--file=${file}`], settings: describe(args) + compression };
  const parallel = args.map((a) => (a === '--format=custom' || a === '-Fc' ? '--format=directory' : a));
  if (!parallel.some((a) => a.startsWith('--jobs') || a.startsWith('-j'))) parallel.push('--jobs=2');
  return { args: [...parallel, `--file=${file}`], directory: true, settings: describe(parallel) + compression };
}

export function mariadbRaw(
  target: ConnectedTarget,
  tool: ToolCommand,
  optionFile: string,
  kind: 'default' | 'stepvault',
): RawCommand {
  const args = mysqlDumpArgs(target, 'mariadb', 'mariadb', optionFile, tool.pluginDir);
  if (kind === 'default') {
    const connection = args.filter((a) => CONNECTION_ARGS.test(a));
    return { args: [...connection, '--', target.database], settings: 'plain SQL (its default)' };
  }
  const { method, level } = mysqlCompressionOf(target);
  if (method === 'none') return { args, settings: `${describe(args)} (no compression)` };
  const compressor: [string, string[]] =
    method === 'zstd'
      ? ['zstd', ['-q', '-c', ...(level === undefined ? [] : [`-${level}`]), '-T1']]
      : ['gzip', ['-c', ...(level === undefined ? [] : [`-${level}`])]];
  return {
    args,
    compressor,
    settings: `${describe(args)} | ${compressor[0]} ${compressor[1].filter((a) => /^-\d/.test(a)).join(' ') || '(default level)'}`,
  };
}
