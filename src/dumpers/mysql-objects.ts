/**
 * No silent loss of routines and triggers. mariadb-dump/mysqldump run by a user who may not read
 * them leave them out and still exit 0: the server hides from that user both the objects and the
 * fact that they exist. So before dumping, the user's own grants must show that it can read every
 * routine and trigger of the database (else the run fails with a ConfigError that names the
 * grant); and after dumping, the dump must hold as many routines, triggers, events and views as
 * the server showed that user.
 *
 * Failing rather than warning: a backup that restores tables without the procedures the
 * application calls is not a backup of that application, and nobody reads warnings at 3 am. The
 * fix is one GRANT, which the message spells out.
 */
import { execFile } from 'node:child_process';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import type { ConnectedTarget } from '../config/load.ts';
import { ConfigError, DumpError } from '../errors.ts';
import { toolEnvironment } from '../tools/environment.ts';
import type { ToolCommand } from '../tools/resolver.ts';
import { reclaimStreamed } from '../streams/reclaim.ts';

const execFileAsync = promisify(execFile);

export interface ObjectCounts {
  routines: number;
  triggers: number;
  events: number;
  views: number;
}

export interface ServerView {
  /** The lines of SHOW GRANTS: the user's own grants and those of its active roles. */
  grants: string[];
  /** The session's cipher; empty when the connection is not encrypted. */
  sslCipher: string;
  /** What the server shows this user of the database. */
  visible: ObjectCounts;
}

const KINDS = ['routines', 'triggers', 'events', 'views'] as const;

const QUOTED = "(?:`[^`]*`|'[^']*'|[^\\s@]+)";
const ROUTINE = new RegExp(`^CREATE (?:DEFINER=${QUOTED}@${QUOTED} )?(?:AGGREGATE )?(?:PROCEDURE|FUNCTION)\\b`);

/** How much of each line the counter looks at: enough for any object's opening words. */
const HEAD_BYTES = 256;

/** Privileges that let a user read every routine's definition, by server family and version. */
const ROUTINE_READERS_GLOBAL = ['ALL PRIVILEGES', 'SELECT', 'SHOW CREATE ROUTINE', 'SHOW_ROUTINE'];

/** Privileges with which information_schema.routines lists every routine in their scope. */
const ROUTINE_SEERS = ['ALL PRIVILEGES', 'EXECUTE', 'ALTER ROUTINE', 'CREATE ROUTINE'];

interface Grant {
  privileges: string[];
  /** `*.*`, `` `db`.* ``, `` `mysql`.`proc` `` as SHOW GRANTS writes them, unquoted. */
  scope: string;
}

export function parseGrantLine(line: string): Grant | undefined {
  const match = /^GRANT (.+?) ON (\S+) TO /.exec(line);
  if (!match) return undefined;
  // Column grants, e.g. `SELECT (a, b)`, do not count for whole objects: drop them.
  const privileges = match[1]!
    .replace(/\([^)]*\)/g, '')
    .split(',')
    .map((p) => p.trim().toUpperCase())
    .filter(Boolean);
  return { privileges, scope: match[2]!.replace(/`/g, '') };
}

/** What the grants let the user read of `database`: the missing kinds, with the GRANT that fixes each. */
export function missingReadGrants(
  grantLines: string[],
  database: string,
): { kind: 'routines' | 'triggers'; grant: string }[] {
  const grants = grantLines.map(parseGrantLine).filter((g): g is Grant => g !== undefined);
  const on = (scopes: string[], privileges: string[]) =>
    grants.some((g) => scopes.includes(g.scope) && g.privileges.some((p) => privileges.includes(p)));
  const onDatabase = [`${database}.*`, '*.*'];
  const missing: { kind: 'routines' | 'triggers'; grant: string }[] = [];
  const routines =
    on(['*.*'], ROUTINE_READERS_GLOBAL) ||
    on(['mysql.*', 'mysql.proc'], ['ALL PRIVILEGES', 'SELECT']) ||
    on([`${database}.*`], ['SHOW CREATE ROUTINE']) ||
    // These do not let the tool read a routine's body, but they let the server show the user
    // every routine: the count after the dump is then true, and the tool fails aloud on a body.
    on(onDatabase, ROUTINE_SEERS);
  if (!routines) {
    missing.push({
      kind: 'routines',
      grant:
        'GRANT SELECT ON mysql.proc (MariaDB up to 11.2, MySQL 5.7), SHOW CREATE ROUTINE ON the database (MariaDB 11.3+) or SHOW_ROUTINE ON *.* (MySQL 8.0.20+)',
    });
  }
  if (!on(onDatabase, ['ALL PRIVILEGES', 'TRIGGER']))
    missing.push({ kind: 'triggers', grant: `GRANT TRIGGER ON \`${database}\`.*` });
  return missing;
}

/** The client's arguments to connect as the dump does (same option file, TLS and auth flags). */
export type ClientConnection = { tool: ToolCommand; args: string[] };

/** Asks the server, as the dump's user, what that user may see. */
export async function inspectServer(client: ClientConnection, database: string): Promise<ServerView> {
  const literal = `'${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const sql = [
    `SELECT '#grants'`,
    `SHOW GRANTS`,
    `SELECT '#ssl'`,
    `SHOW SESSION STATUS LIKE 'Ssl_cipher'`,
    `SELECT '#counts'`,
    `SELECT (SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ${literal}),
            (SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = ${literal}),
            (SELECT COUNT(*) FROM information_schema.events WHERE event_schema = ${literal}),
            (SELECT COUNT(*) FROM information_schema.views WHERE table_schema = ${literal})`,
  ].join(';\n');
  const { stdout } = await execFileAsync(
    client.tool.file,
    [...client.tool.prefixArgs, ...client.args, '--batch', '--skip-column-names', '--raw', '-e', sql],
    {
      env: toolEnvironment({}),
      timeout: 60_000,
      maxBuffer: 4 * 1024 * 1024,
    },
  );
  return parseServerView(stdout);
}

export function parseServerView(stdout: string): ServerView {
  const sections: Record<string, string[]> = {};
  let current = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('#')) current = line.slice(1);
    else if (line && current) {
      const section = sections[current] ?? [];
      section.push(line);
      sections[current] = section;
    }
  }
  const numbers = (sections.counts?.[0] ?? '').split('\t').map(Number);
  return {
    grants: sections.grants ?? [],
    sslCipher: (sections.ssl?.[0] ?? '').split('\t')[1] ?? '',
    visible: { routines: numbers[0] ?? 0, triggers: numbers[1] ?? 0, events: numbers[2] ?? 0, views: numbers[3] ?? 0 },
  };
}

/** The checks made before the dump starts: TLS really on when required, and every object readable. */
export function checkBeforeDump(view: ServerView, target: ConnectedTarget): void {
  const where = `${target.name} (${target.host}:${target.port}/${target.database})`;
  if (target.tls.mode !== 'disable' && target.tls.mode !== 'prefer' && !view.sslCipher) {
    // Some MariaDB clients connect in clear text when asked for TLS by a server that has none.
    throw new ConfigError(
      `the connection to ${where} is not encrypted although targets.${target.name}.tls.mode is ${target.tls.mode}: the server does not support SSL/TLS; enable TLS on the server or lower tls.mode`,
    );
  }
  const missing = missingReadGrants(view.grants, target.database);
  if (missing.length > 0) {
    throw new ConfigError(
      `user ${target.user} of target ${where} may not read the database's ${missing.map((m) => m.kind).join(' and ')}: the dump would leave them out without a word. ` +
        `${missing.map((m) => m.grant).join('; ')} TO the user — see "Grants" in the README`,
    );
  }
}

/** The check made after the dump: everything the server showed is in it. */
export function checkDumpHolds(visible: ObjectCounts, dumped: ObjectCounts, target: ConnectedTarget): void {
  // A dump of some tables leaves other tables' triggers and views out, rightly.
  const kinds =
    target.dump.tables || target.dump.excludeTables
      ? target.dump.tables
        ? []
        : (['routines', 'events'] as const)
      : KINDS;
  const short = kinds.filter((k) => dumped[k] < visible[k]);
  if (short.length > 0) {
    throw new DumpError(
      `the dump of ${target.name} is missing objects: ${short.map((k) => `${dumped[k]} of ${visible[k]} ${k}`).join(', ')} — the user may lack a privilege to read them (see "Grants" in the README); nothing was published`,
    );
  }
}

/**
 * Counts the objects a mariadb-dump/mysqldump writes, from the start of its lines: a routine is
 * `CREATE DEFINER=… PROCEDURE|FUNCTION`, a trigger `/*!50003 CREATE*\/ … /*!50003 TRIGGER`, an
 * event `/*!50106 CREATE*\/ … EVENT`, a view's final definition `/*!50001 VIEW`. Only line
 * starts are read, so long INSERT lines cost a newline search and nothing more.
 */
export class DumpedObjectCounter extends Transform {
  readonly counts: ObjectCounts = { routines: 0, triggers: 0, events: 0, views: 0 };
  /** The first bytes of the line being read, which may span chunks. */
  private head: Buffer[] = [];
  private headLength = 0;
  /**
   * Whether the current line can open an object: undecided until its first byte is seen. A dump
   * is millions of INSERT lines; deciding on the first byte keeps them from being copied at all
   * (copying each line's start cost two seconds of CPU on a 900 MB dump).
   */
  private candidate: boolean | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(10, start);
      const stop = end === -1 ? chunk.length : end;
      if (stop > start) {
        // Only lines starting with "CREATE" or "/*!5" can open an object.
        this.candidate ??= chunk[start] === 0x43 || chunk[start] === 0x2f;
        if (this.candidate && this.headLength < HEAD_BYTES) {
          const piece = Buffer.from(chunk.subarray(start, Math.min(stop, start + HEAD_BYTES - this.headLength)));
          this.head.push(piece);
          this.headLength += piece.length;
        }
      }
      if (end === -1) break;
      this.endLine();
      start = end + 1;
    }
    // Every byte of the uncompressed dump passes here, and only here when rows are not counted.
    reclaimStreamed(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.endLine();
    callback();
  }

  private endLine(): void {
    if (this.headLength > 0) this.lineStart(Buffer.concat(this.head, this.headLength));
    this.head = [];
    this.headLength = 0;
    this.candidate = undefined;
  }

  private lineStart(head: Buffer): void {
    if (head.length < 6) return;
    const text = head.toString('utf8');
    if (ROUTINE.test(text)) this.counts.routines += 1;
    else if (/^\/\*!50003 CREATE\*\/ .*\/\*!50003 TRIGGER\b/.test(text)) this.counts.triggers += 1;
    else if (/^\/\*!50106 CREATE\*\/ .*EVENT\b/.test(text)) this.counts.events += 1;
    else if (/^\/\*!50001 VIEW\b/.test(text)) this.counts.views += 1;
  }
}
