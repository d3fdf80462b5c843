/**
 * MySQL and MariaDB: mariadb-dump or mysqldump as one consistent transaction, the SQL compressed
 * in-process (zstd, gzip or none: src/engines/compression.ts has the default and why).
 * Complete means exit code 0 *and* the tool's closing `-- Dump completed` line at the very end.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PassThrough, type Transform } from 'node:stream';
import type { ConnectedTarget } from '../config/load.ts';
import type { Engine, TlsOptions } from '../config/schema.ts';
import { ConfigError, ConnectionError, DumpError, TransientError } from '../errors.ts';
import { firstErrorLine, toolEnvironment } from '../tools/environment.ts';
import { outputBufferEnvironment } from '../tools/output-buffer.ts';
import {
  checkBeforeDump,
  checkDumpHolds,
  DumpedObjectCounter,
  inspectServer,
  type ObjectCounts,
} from './mysql-objects.ts';
import { boundedCounts, countsRows, InsertRowCounter } from './row-counts.ts';
import { EdgeKeeper } from '../streams/edge-keeper.ts';
import { runDumpTool } from './stream.ts';
import { mysqlCompressionOf } from './extension.ts';
import type { Compression } from '../engines/compression.ts';
import { resolveTool, toolVersionLine, type ToolCommand } from '../tools/resolver.ts';
import { engineInfo } from '../engines/registry.ts';
import type { DumpOutput, DumpRequest, DumpSink, StagingDumper } from './types.ts';

/** The same for MySQL and MariaDB. */
export const MYSQL_DEFAULT_USER = engineInfo('mysql').defaultUser;

/** Which family the client tool belongs to: their TLS and GTID options differ. */
export type ClientFlavor = 'mariadb' | 'mysql';

export const COMPLETION_MARK = '-- Dump completed';

export const MYSQL_DUMP_TOOLS: Record<'mysql' | 'mariadb', string[]> = {
  mariadb: ['mariadb-dump', 'mysqldump'],
  mysql: ['mysqldump', 'mariadb-dump'],
};

export function clientFlavor(versionLine: string): ClientFlavor {
  return /mariadb/i.test(versionLine) ? 'mariadb' : 'mysql';
}

/**
 * `mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for …` and MariaDB 11's
 * `mariadb-dump from 11.8.9-MariaDB, client 10.20 for …` → the server release it belongs to;
 * MySQL's `mysqldump  Ver 8.0.36 for …` → `8.0.36`.
 */
export function parseMysqlToolVersion(line: string): string {
  return /(?:Distrib|from)\s+([^,\s]+),/.exec(line)?.[1] ?? /Ver\s+(\S+)/.exec(line)?.[1] ?? line;
}

/** TLS as libpq's sslmode says it, in each client family's own words. */
export function mysqlTlsArgs(flavor: ClientFlavor, tls: TlsOptions): string[] {
  const ca = tls.ca ? [`--ssl-ca=${tls.ca}`] : [];
  if (flavor === 'mysql') {
    const mode = {
      disable: 'DISABLED',
      prefer: 'PREFERRED',
      require: 'REQUIRED',
      'verify-ca': 'VERIFY_CA',
      'verify-full': 'VERIFY_IDENTITY',
    }[tls.mode];
    return [`--ssl-mode=${mode}`, ...ca];
  }
  switch (tls.mode) {
    case 'disable':
      return ['--skip-ssl'];
    case 'prefer':
      // MariaDB 11.4+ clients verify by default; "prefer" asks for encryption, not identity.
      return ['--skip-ssl-verify-server-cert', ...ca];
    case 'require':
      return ['--ssl', '--skip-ssl-verify-server-cert', ...ca];
    case 'verify-ca':
    case 'verify-full':
      // MariaDB's clients check the certificate and the host name together.
      return ['--ssl', '--ssl-verify-server-cert', ...ca];
  }
}

/** The dump tool's arguments, after the option file that carries the password. */
export function mysqlDumpArgs(
  target: ConnectedTarget,
  engine: Engine,
  flavor: ClientFlavor,
  optionFile: string,
  pluginDir?: string,
): string[] {
  const dump = target.dump;
  const args = [
    // Must come first; also keeps ~/.my.cnf and /etc/mysql out of the run.
    `--defaults-file=${optionFile}`,
    // A layer's client finds its auth plugins (caching_sha2_password, ed25519) only when told.
    ...(pluginDir ? [`--plugin-dir=${pluginDir}`] : []),
    // Values glued to their options: a value can never be taken for an option of its own.
    `--host=${target.host}`,
    `--port=${target.port}`,
    '--protocol=TCP',
    `--user=${target.user ?? MYSQL_DEFAULT_USER}`,
    '--single-transaction',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--no-tablespaces',
    '--default-character-set=utf8mb4',
    ...mysqlTlsArgs(flavor, target.tls),
  ];
  // An IAM token is sent as it is; the clients refuse to send a cleartext password unless told.
  if (target.iamAuth)
    args.push(flavor === 'mysql' ? '--enable-cleartext-plugin' : '--default-auth=mysql_clear_password');
  // A restore onto a MySQL replica must not rewrite its GTID history.
  if (flavor === 'mysql' && engine === 'mysql') args.push('--set-gtid-purged=OFF');
  for (const t of dump.excludeTables ?? []) args.push(`--ignore-table=${target.database}.${t}`);
  // After `--` the names are names, even one that starts with "-" (both 10.11 and 11.x clients honour it).
  args.push('--', target.database, ...(dump.tables ?? []));
  return args;
}

/** The escapes MySQL's option-file parser reads inside a double-quoted value. */
const OPTION_FILE_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
};

/**
 * A MySQL option file: the value double-quoted, with the escapes the client's parser knows, so
 * a newline in a password stays inside the password instead of starting a line of options.
 * Other control characters have no escape there: they are refused, never written.
 */
export function optionFileText(password: string | undefined, where = 'the password'): string {
  const lines = ['[client]'];
  if (password !== undefined) {
    if (/[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]/.test(password)) {
      throw new ConfigError(
        `${where} contains a control character a MySQL option file cannot carry; use printable characters, tabs or newlines only`,
      );
    }
    lines.push(`password="${password.replace(/[\\"\n\r\t\b]/g, (c) => OPTION_FILE_ESCAPES[c]!)}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** The server version from the dump's header comment. */
export function parseServerVersion(head: string): string | undefined {
  return /^-- Server version\s+(\S+)/m.exec(head)?.[1];
}

export function classifyMysqlDumpFailure(stderr: string, target: ConnectedTarget): Error {
  const where = `${target.name} (${target.host}:${target.port}/${target.database})`;
  const line = firstErrorLine(stderr);
  // TLS refused or unverifiable: the same answer on every retry until the config or server changes.
  if (/\b2026\b|SSL is required|SSL connection error|TLS\/SSL error/i.test(stderr)) {
    return new ConfigError(
      `cannot open a TLS connection to ${where} (targets.${target.name}.tls.mode is ${target.tls.mode}): ${tlsLine(stderr, line)}; enable TLS on the server, fix tls.ca, or lower tls.mode`,
    );
  }
  // Checked before the login failure: a missing privilege also says "Access denied", but the
  // password was right and changing it would not help.
  const privilege = missingMysqlPrivilege(stderr);
  if (privilege) {
    return new ConfigError(
      `user ${target.user ?? MYSQL_DEFAULT_USER} of target ${where} lacks ${privilege === ROUTINE_READING ? 'a privilege to read routines' : `the ${privilege} privilege`} the dump needs: ${privilegeLine(stderr, line)}; ` +
        `${privilege === ROUTINE_READING ? 'GRANT SELECT ON mysql.proc (or SHOW CREATE ROUTINE on MariaDB 11.3+, SHOW_ROUTINE on MySQL 8)' : `GRANT ${privilege} ON \`${target.database}\`.*`} TO the user — see "Grants" in the README`,
    );
  }
  if (/\b(1045|1698)\b|Access denied/.test(stderr)) {
    return new ConfigError(`cannot log in to ${where}: ${line}; check user and password for targets.${target.name}`);
  }
  if (/\b1049\b|Unknown database/.test(stderr))
    return new ConfigError(`${line}; check targets.${target.name}.database`);
  if (/\b(1205|1213)\b|Lock wait timeout|Deadlock/.test(stderr))
    return new TransientError(`dump of ${where} was interrupted: ${line}`);
  if (
    /\b(2002|2003|2005|2006|2013)\b|Can't connect|Unknown (MySQL )?server host|Lost connection|gone away/.test(stderr)
  ) {
    return new ConnectionError(`cannot reach the database for target ${where}: ${line}`);
  }
  return new DumpError(`dump of ${where} failed: ${line}`);
}

/** Not one privilege but several, by server (see missingReadGrants). */
const ROUTINE_READING = 'routine-reading';

/**
 * The privilege whose absence made the tool stop, from its complaint: `show events` denied
 * (1044), `SHOW VIEW command denied` (1142), a routine's body it may not read, and the like.
 */
export function missingMysqlPrivilege(stderr: string): string | undefined {
  if (/insufficient privileges to SHOW CREATE (FUNCTION|PROCEDURE)/i.test(stderr)) return ROUTINE_READING;
  if (!/\b(1044|1142|1227|1370)\b|command denied|insufficient privileges|you need \(at least one of\)/i.test(stderr))
    return undefined;
  if (/show events/i.test(stderr)) return 'EVENT';
  if (/SHOW VIEW/i.test(stderr)) return 'SHOW VIEW';
  if (/trigger/i.test(stderr)) return 'TRIGGER';
  if (/LOCK TABLES/i.test(stderr)) return 'LOCK TABLES';
  if (/\bPROCESS\b/.test(stderr)) return 'PROCESS';
  if (/\bRELOAD\b|FLUSH/i.test(stderr)) return 'RELOAD';
  // 1044 on connecting: the user may not open the database at all.
  return 'SELECT';
}

function privilegeLine(stderr: string, fallback: string): string {
  return (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /denied|insufficient privileges|you need/i.test(l)) ?? fallback
  );
}

function tlsLine(stderr: string, fallback: string): string {
  return (
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => /SSL|TLS/.test(l)) ?? fallback
  );
}

/** Node's zlib compresses as the dump passes; none passes it through as it is. */
/**
 * The compressor's output buffer. zlib's default (16 KiB) makes one trip to the thread pool and
 * one write per 16 KiB: on a 900 MB dump that was 2.6 s of system time against 0.9 s with 1 MiB.
 */
const COMPRESSOR_CHUNK = 1024 * 1024;

function compressor(compression: Compression): Transform {
  const { method, level } = compression;
  if (method === 'zstd') {
    const params = level === undefined ? {} : { [zlib.constants.ZSTD_c_compressionLevel]: level };
    return zlib.createZstdCompress({ params, chunkSize: COMPRESSOR_CHUNK });
  }
  if (method === 'gzip') return zlib.createGzip({ chunkSize: COMPRESSOR_CHUNK, ...(level !== undefined && { level }) });
  return new PassThrough();
}

export function mysqlDumper(engine: 'mysql' | 'mariadb'): StagingDumper {
  return {
    writes: 'staging',

    dump: (request) => dumpMysql(engine, request, { file: request.file }),
    dumpInto: (request) => dumpMysql(engine, request, { stream: request.sink }),
  };
}

/** One dump, into a staging file or a stream: the same tool, the same checks. */
async function dumpMysql(
  engine: 'mysql' | 'mariadb',
  request: Omit<DumpRequest, 'file'>,
  sink: DumpSink,
): Promise<DumpOutput> {
  const { target } = request;
  const tool = resolveTool(MYSQL_DUMP_TOOLS[engine]);
  const versionLine = await toolVersionLine(tool);
  const flavor = clientFlavor(versionLine);

  // The password lives in a 0600 file in a private folder for the life of the dump only.
  const secretDir = await mkdtemp(path.join(tmpdir(), 'stepvault-'));
  const optionFile = path.join(secretDir, 'client.cnf');
  try {
    await writeFile(optionFile, optionFileText(request.password, `the password of targets.${target.name}`), {
      mode: 0o600,
    });
    const visible = await objectsBeforeDump(target, engine, flavor, optionFile);
    const objects = new DumpedObjectCounter();
    const edges = new EdgeKeeper(4096, 512);
    const counter = countsRows(target) ? new InsertRowCounter() : undefined;
    const compression = mysqlCompressionOf(target);
    const run = await runDumpTool({
      tool,
      args: mysqlDumpArgs(target, engine, flavor, optionFile, tool.pluginDir),
      env: toolEnvironment(outputBufferEnvironment(tool)),
      sink,
      transforms: [edges, ...(counter ? [counter] : []), objects, compressor(compression)],
      ...(request.encryption && { encryption: request.encryption }),
      ...(request.onProgress && { onProgress: request.onProgress }),
      async check(finished) {
        if (finished.signal)
          throw new DumpError(`${tool.name} of ${target.name} was killed by ${finished.signal}; nothing was published`);
        if (finished.exitCode !== 0) throw classifyMysqlDumpFailure(finished.stderr, target);
        if (!edges.tailText().includes(COMPLETION_MARK)) {
          throw new DumpError(
            `the dump of ${target.name} is incomplete: ${tool.name} exited 0 but its output does not end with "${COMPLETION_MARK}"; nothing was published`,
          );
        }
        checkDumpHolds(visible, objects.counts, target);
      },
    });
    const rowCounts = boundedCounts(counter?.counts);
    return {
      ...(rowCounts && { rowCounts }),
      size: run.size,
      sha256: run.sha256,
      ...(run.encryption && { encryption: run.encryption }),
      compression: compression.method,
      ...(compression.level !== undefined && { compressionLevel: compression.level }),
      tool: { name: tool.name, version: parseMysqlToolVersion(versionLine) },
      serverVersion: parseServerVersion(edges.headText()) ?? 'unknown',
    };
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

/**
 * The client that loads what a dump tool wrote: MySQL's dump goes to MySQL's client, MariaDB's
 * to MariaDB's, whose dump opens with a line (`enable the sandbox mode`) MySQL's client rejects.
 */
export function restoreClientsFor(dumpedBy: { name: string; version: string } | undefined): string[] {
  return dumpedBy && clientFlavor(`${dumpedBy.name} ${dumpedBy.version}`) === 'mysql'
    ? ['mysql', 'mariadb']
    : ['mariadb', 'mysql'];
}

/** The SQL client for an engine: its own first, the other family's when that is all there is. */
export function mysqlClientTool(engine: 'mysql' | 'mariadb'): ToolCommand {
  return resolveTool(engine === 'mysql' ? ['mysql', 'mariadb'] : ['mariadb', 'mysql']);
}

/** The SQL client's arguments to connect as the dump does (same option file, TLS and auth flags). */
export function mysqlClientArgs(
  target: ConnectedTarget,
  flavor: ClientFlavor,
  optionFile: string,
  tool: ToolCommand,
): string[] {
  return [
    `--defaults-file=${optionFile}`,
    ...(tool.pluginDir ? [`--plugin-dir=${tool.pluginDir}`] : []),
    // Values glued to their options, as for the dump tool.
    `--host=${target.host}`,
    `--port=${target.port}`,
    '--protocol=TCP',
    `--user=${target.user ?? MYSQL_DEFAULT_USER}`,
    ...mysqlTlsArgs(flavor, target.tls),
    ...(target.iamAuth
      ? [flavor === 'mysql' ? '--enable-cleartext-plugin' : '--default-auth=mysql_clear_password']
      : []),
  ];
}

/**
 * Asks the server, as the dump's user and over the same kind of connection, what the dump must
 * hold; fails before dumping when TLS is not really on or routines/triggers would be left out.
 */
async function objectsBeforeDump(
  target: ConnectedTarget,
  engine: 'mysql' | 'mariadb',
  flavor: ClientFlavor,
  optionFile: string,
): Promise<ObjectCounts> {
  const tool = mysqlClientTool(engine);
  const args = mysqlClientArgs(target, flavor, optionFile, tool);
  let view: Awaited<ReturnType<typeof inspectServer>>;
  try {
    view = await inspectServer({ tool, args }, target.database);
  } catch (error) {
    throw classifyMysqlDumpFailure((error as { stderr?: string }).stderr ?? String(error), target);
  }
  checkBeforeDump(view, { ...target, user: target.user ?? MYSQL_DEFAULT_USER });
  return view.visible;
}
