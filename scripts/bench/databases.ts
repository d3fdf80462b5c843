/**
 * Generates (or reuses) the benchmark database on PostgreSQL and MariaDB: the tables of
 * tables.ts, the same rows on both, inserted in batches by the servers themselves (nothing passes
 * through Node). A table `bench_generated` written last marks a database as whole: `reuse` takes
 * only a database that has it, so an interrupted generation is redone.
 */
import { execFileSync } from 'node:child_process';
import { BATCH_ROWS, BENCH_TABLES, rowsFor } from './tables.ts';

export type BenchEngine = 'postgres' | 'mariadb';

export interface GeneratedDatabase {
  engine: BenchEngine;
  name: string;
  /** Data and indexes as the server counts them. */
  bytes: number;
  reused: boolean;
}

const psql = (database: string, sql: string): string =>
  execFileSync(
    'psql',
    ['-h', '127.0.0.1', '-U', 'postgres', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  ).trim();

const mariadb = (database: string, sql: string): string =>
  execFileSync(
    'mariadb',
    ['--no-defaults', '-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--protocol=TCP', '-N', '-B', database, '-e', sql],
    { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  ).trim();

interface EngineSql {
  exists(name: string): boolean;
  recreate(name: string): void;
  run(name: string, sql: string): void;
  rows(select: string, from: number, to: number): string;
  finish(name: string): void;
  bytes(name: string): number;
}

const ENGINES: Record<BenchEngine, EngineSql> = {
  postgres: {
    exists: (name) =>
      psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${name}'`) === '1' &&
      psql(name, `SELECT count(*) FROM pg_tables WHERE tablename = 'bench_generated'`) === '1',
    recreate(name) {
      psql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      psql('postgres', `CREATE DATABASE ${name}`);
    },
    run: psql,
    rows: (select, from, to) => `${select} FROM generate_series(${from}::bigint, ${to}::bigint) g`,
    finish: (name) => psql(name, 'VACUUM ANALYZE'),
    bytes: (name) => Number(psql(name, 'SELECT pg_database_size(current_database())')),
  },
  mariadb: {
    exists: (name) =>
      mariadb(
        'mysql',
        `SELECT count(*) FROM information_schema.tables WHERE table_schema = '${name}' AND table_name = 'bench_generated'`,
      ) === '1',
    recreate(name) {
      mariadb('mysql', `DROP DATABASE IF EXISTS \`${name}\``);
      mariadb('mysql', `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    },
    run: mariadb,
    // The SEQUENCE engine (built into MariaDB) plays generate_series.
    rows: (select, from, to) => `${select} FROM (SELECT seq AS g FROM seq_${from}_to_${to}) s`,
    finish: (name) => mariadb(name, `ANALYZE TABLE ${BENCH_TABLES.map((t) => t.name).join(', ')}`),
    bytes: (name) =>
      Number(
        mariadb(
          'mysql',
          `SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables WHERE table_schema = '${name}'`,
        ),
      ),
  },
};

/** The database `name` on `engine` with about `sizeMb` MiB of rows (PostgreSQL's measure). */
export function ensureDatabase(
  engine: BenchEngine,
  name: string,
  sizeMb: number,
  options: { reuse: boolean; log?: (line: string) => void },
): GeneratedDatabase {
  const sql = ENGINES[engine];
  const log = options.log ?? (() => undefined);
  if (options.reuse && sql.exists(name)) return { engine, name, bytes: sql.bytes(name), reused: true };
  const started = Date.now();
  sql.recreate(name);
  for (const table of BENCH_TABLES) {
    const shape = table[engine];
    sql.run(name, shape.create);
    const total = rowsFor(table, sizeMb);
    for (let from = 1; from <= total; from += BATCH_ROWS) {
      const to = Math.min(total, from + BATCH_ROWS - 1);
      sql.run(name, `INSERT INTO ${table.name} ${sql.rows(shape.select, from, to)}`);
      log(`${engine} ${name}: ${table.name} ${to.toLocaleString()} / ${total.toLocaleString()} rows`);
    }
  }
  sql.finish(name);
  sql.run(name, `CREATE TABLE bench_generated (size_mb int)`);
  sql.run(name, `INSERT INTO bench_generated VALUES (${sizeMb})`);
  log(`${engine} ${name}: generated in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { engine, name, bytes: sql.bytes(name), reused: false };
}
