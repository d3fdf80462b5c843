/** The local MariaDB (127.0.0.1:3306, root without password) through the mariadb client. */
import { execFile, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const run = promisify(execFile);

export const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' };

const baseArgs = [
  '--no-defaults',
  '--default-character-set=utf8mb4',
  '-h',
  MARIADB.host,
  '-P',
  String(MARIADB.port),
  '-u',
  MARIADB.user,
  '--protocol=TCP',
];

export async function mariadb(database: string | undefined, sql: string): Promise<string> {
  const { stdout } = await run('mariadb', [...baseArgs, '-N', '-B', ...(database ? [database] : []), '-e', sql], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}

export async function createMariaDatabase(name: string): Promise<void> {
  await mariadb(undefined, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
}

export async function dropMariaDatabase(name: string): Promise<void> {
  await mariadb(undefined, `DROP DATABASE IF EXISTS \`${name}\``);
}

/** Feeds SQL (through `transforms`, e.g. gunzip) to the mariadb client's standard input. */
async function feed(file: string, database: string, transforms: NodeJS.ReadWriteStream[]): Promise<void> {
  const child = spawn('mariadb', [...baseArgs, database], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await pipeline([createReadStream(file), ...transforms, child.stdin]);
  const code = await exited;
  if (code !== 0) throw new Error(`mariadb failed on ${file} (${code}): ${stderr}`);
}

/** Feeds a .sql.zst, .sql.gz or .sql dump to the mariadb client, decompressed by its extension, as a person would. */
export function restoreSqlDump(file: string, database: string): Promise<void> {
  if (file.endsWith('.sql.zst')) return feed(file, database, [zlib.createZstdDecompress()]);
  if (file.endsWith('.sql.gz')) return feed(file, database, [zlib.createGunzip()]);
  if (file.endsWith('.sql')) return feed(file, database, []);
  throw new Error(`not a SQL dump by its name: ${file}`);
}

/** Loads test/fixtures/mariadb-rich.sql (routines, trigger, event, binary and utf8mb4 data, …) into a database. */
export function loadRichMariadb(database: string): Promise<void> {
  return feed(new URL('../fixtures/mariadb-rich.sql', import.meta.url).pathname, database, []);
}

export async function mariaTableDigests(database: string): Promise<Record<string, string>> {
  const tables = (
    await mariadb(
      database,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1`,
    )
  )
    .split('\n')
    .filter(Boolean);
  const digests: Record<string, string> = {};
  for (const table of tables) {
    const columns = (
      await mariadb(
        database,
        `SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '${table}' ORDER BY ordinal_position`,
      )
    )
      .split('\n')
      .filter(Boolean);
    const row = `CONCAT_WS('|', ${columns.map((c) => `IFNULL(HEX(\`${c}\`), 'NULL')`).join(', ')})`;
    digests[table] = await mariadb(
      database,
      `SELECT CONCAT(COUNT(*), ':', IFNULL(MD5(GROUP_CONCAT(${row} ORDER BY ${row} SEPARATOR '\\n')), '')) FROM \`${table}\``,
    );
  }
  return digests;
}

export async function mariaInventory(database: string): Promise<Record<string, string>> {
  const q = (sql: string) => mariadb(database, sql);
  return {
    routines: await q(
      `SELECT GROUP_CONCAT(CONCAT(routine_type, ':', routine_name) ORDER BY routine_type, routine_name) FROM information_schema.routines WHERE routine_schema = DATABASE()`,
    ),
    triggers: await q(
      `SELECT GROUP_CONCAT(trigger_name ORDER BY trigger_name) FROM information_schema.triggers WHERE trigger_schema = DATABASE()`,
    ),
    events: await q(
      `SELECT GROUP_CONCAT(event_name ORDER BY event_name) FROM information_schema.events WHERE event_schema = DATABASE()`,
    ),
    views: await q(
      `SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.views WHERE table_schema = DATABASE()`,
    ),
    generated: await q(
      `SELECT GROUP_CONCAT(CONCAT(table_name, '.', column_name, '=', generation_expression) ORDER BY column_name) FROM information_schema.columns WHERE table_schema = DATABASE() AND is_generated = 'ALWAYS'`,
    ),
  };
}
