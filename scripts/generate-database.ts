/**
 * Generates a PostgreSQL database of about the given size for benchmarks: rows of mixed text,
 * jsonb and bytea that compress about as much as real data does (neither all zeros nor noise).
 *
 *   node scripts/generate-database.ts [--size-mb 1024] [--database stepvault_bench]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({
  options: { 'size-mb': { type: 'string', default: '1024' }, database: { type: 'string', default: 'stepvault_bench' } },
});
const sizeMb = Number(values['size-mb']);
const database = values.database;
const psql = resolveTool(['psql']);
const run = (db: string, sql: string) =>
  execFileSync(
    psql.file,
    [...psql.prefixArgs, '-h', '127.0.0.1', '-U', 'postgres', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql],
    { encoding: 'utf8' },
  ).trim();

run('postgres', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
run('postgres', `CREATE DATABASE ${database}`);
run(
  database,
  `CREATE TABLE events (id bigint PRIMARY KEY, kind text, body text, attrs jsonb, digest bytea, at timestamptz)`,
);
// About 320 bytes per row on disk with its index: insert in batches until the size is reached.
const batch = 500_000;
let inserted = 0;
const started = Date.now();
while (Number(run(database, `SELECT pg_database_size(current_database())`)) < sizeMb * 1024 * 1024) {
  run(
    database,
    `INSERT INTO events SELECT g, (ARRAY['click','view','buy','refund'])[1 + g % 4],
       md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || repeat(chr(97 + g % 26), 40 + g % 60),
       jsonb_build_object('user', g % 100000, 'session', md5((g % 5000)::text), 'tags', jsonb_build_array(g % 10, g % 7)),
       decode(md5((g * 13)::text), 'hex'), timestamptz '2026-01-01' + make_interval(secs => g)
     FROM generate_series(${inserted + 1}, ${inserted + batch}) g`,
  );
  inserted += batch;
  process.stdout.write(
    `\r${inserted.toLocaleString()} rows, ${run(database, `SELECT pg_size_pretty(pg_database_size(current_database()))`)}`,
  );
}
run(database, 'VACUUM ANALYZE events');
console.log(
  `\n${database}: ${run(database, `SELECT pg_size_pretty(pg_database_size(current_database()))`)} in ${((Date.now() - started) / 1000).toFixed(0)}s`,
);
