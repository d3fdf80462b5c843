/**
 * How each compression method and level trades time for size, on the same database, to pick the
 * defaults by figures: PostgreSQL's `pg_dump -Fc --compress=<method>:<level>` (its own
 * compression, written to a file), and a MariaDB dump (`mariadb-dump` piped through Node's zlib,
 * as the dumper compresses it). Each line is one run: wall time, CPU time of the compressor
 * (pg_dump, or this Node process), and the size written.
 *
 *   node scripts/generate-database.ts --size-mb 500 --database stepvault_bench
 *   node scripts/bench-compression.ts [--database stepvault_bench] [--mariadb-rows 2000000] [--only postgres|mariadb]
 *
 * `--mariadb-rows` fills a MariaDB database (stepvault_bench_mariadb) with rows like the
 * PostgreSQL generator's when it holds fewer; 0 leaves MariaDB out.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'stepvault_bench' },
    'mariadb-rows': { type: 'string', default: '2000000' },
    only: { type: 'string' },
  },
});
const work = mkdtempSync(path.join(tmpdir(), 'stepvault-bench-compression-'));

interface Figure {
  label: string;
  seconds: number;
  cpuSeconds: number;
  size: number;
}

function print(title: string, figures: Figure[]): void {
  const reference = figures[0]!;
  console.log(`\n${title}`);
  console.log(`${'setting'.padEnd(34)}${'wall'.padStart(8)}${'cpu'.padStart(8)}${'size'.padStart(11)}  vs first`);
  for (const f of figures)
    console.log(
      `${f.label.padEnd(34)}${`${f.seconds.toFixed(1)} s`.padStart(8)}${`${f.cpuSeconds.toFixed(1)} s`.padStart(8)}${formatBytes(f.size).padStart(11)}  ` +
        `${(reference.seconds / f.seconds).toFixed(2)}× faster, ${((100 * f.size) / reference.size).toFixed(0)}% of the size`,
    );
}

/** User + system seconds this process spent between two readings. */
function cpuSecondsBetween(before: NodeJS.ResourceUsage, after: NodeJS.ResourceUsage): number {
  return (after.userCPUTime - before.userCPUTime + after.systemCPUTime - before.systemCPUTime) / 1e6;
}

async function timed(label: string, work: () => Promise<number>, cpu: () => number): Promise<Figure> {
  const start = process.hrtime.bigint();
  const size = await work();
  return { label, seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: cpu(), size };
}

async function benchPostgres(database: string): Promise<void> {
  const pgDump = resolveTool(['pg_dump']);
  const version = execFileSync(pgDump.file, [...pgDump.prefixArgs, '--version'], { encoding: 'utf8' }).trim();
  const settings = ['(default: gzip)', 'zstd:1', 'zstd:3', 'zstd:6', 'lz4:1', 'gzip:1', 'gzip:6', 'none'];
  const figures: Figure[] = [];
  for (const setting of settings) {
    const file = path.join(work, 'pg.dump');
    const compress = setting.startsWith('(') ? [] : [`--compress=${setting}`];
    // pg_dump's CPU time: bash runs it, then `times` prints the CPU its children used.
    let cpu = 0;
    const figure = await timed(
      `pg_dump -Fc ${setting}`,
      async () => {
        const out = execFileSync(
          'bash',
          [
            '-c',
            '"$@"; times',
            'bash',
            pgDump.file,
            ...pgDump.prefixArgs,
            '-Fc',
            ...compress,
            '-h',
            '127.0.0.1',
            '-U',
            'postgres',
            '-f',
            file,
            database,
          ],
          { encoding: 'utf8' },
        );
        cpu = bashTimesChildren(out);
        return statSync(file).size;
      },
      () => cpu,
    );
    rmSync(path.join(work, 'pg.dump'), { force: true });
    figures.push(figure);
  }
  const psql = resolveTool(['psql']);
  const size = execFileSync(
    psql.file,
    [
      ...psql.prefixArgs,
      '-h',
      '127.0.0.1',
      '-U',
      'postgres',
      '-XAtqc',
      `SELECT pg_size_pretty(pg_database_size('${database}'))`,
    ],
    { encoding: 'utf8' },
  ).trim();
  print(`PostgreSQL: database ${database} (${size}), ${version}, custom format to a file`, figures);
}

/** bash's `times` prints the shell's then its children's user/system times: `0m1.234s 0m0.456s`. */
function bashTimesChildren(output: string): number {
  const lines = output.trim().split('\n');
  const children = lines.at(-1)!.match(/(\d+)m([\d.]+)s/g) ?? [];
  return children.reduce((sum, t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t)!;
    return sum + Number(m) * 60 + Number(s);
  }, 0);
}

const MARIADB_DATABASE = 'stepvault_bench_mariadb';

function mariadbClient(sql: string, database?: string): string {
  const client = resolveTool(['mariadb', 'mysql']);
  return execFileSync(
    client.file,
    [
      ...client.prefixArgs,
      '--no-defaults',
      '-h',
      '127.0.0.1',
      '-P',
      '3306',
      '-u',
      'root',
      '--protocol=TCP',
      '--skip-ssl',
      '-N',
      '-B',
      ...(database ? [database] : []),
      '-e',
      sql,
    ],
    { encoding: 'utf8' },
  ).trim();
}

/** Rows like generate-database.ts writes for PostgreSQL: text, JSON and a digest that compress like real data. */
function fillMariadb(rows: number): void {
  mariadbClient(`CREATE DATABASE IF NOT EXISTS ${MARIADB_DATABASE}`);
  mariadbClient(
    'CREATE TABLE IF NOT EXISTS events (id bigint PRIMARY KEY, kind varchar(16), body text, attrs json, digest varbinary(16), at datetime)',
    MARIADB_DATABASE,
  );
  const have = Number(mariadbClient('SELECT COUNT(*) FROM events', MARIADB_DATABASE));
  for (let from = have + 1; from <= rows; from += 500_000) {
    const to = Math.min(rows, from + 499_999);
    mariadbClient(
      `INSERT INTO events SELECT seq, ELT(1 + seq % 4, 'click','view','buy','refund'),
         CONCAT(MD5(seq), ' ', MD5(seq * 7), ' ', REPEAT(CHAR(97 + seq % 26), 40 + seq % 60)),
         JSON_OBJECT('user', seq % 100000, 'session', MD5(seq % 5000), 'tags', JSON_ARRAY(seq % 10, seq % 7)),
         UNHEX(MD5(seq * 13)), TIMESTAMP '2026-01-01 00:00:00' + INTERVAL seq SECOND
       FROM seq_${from}_to_${to}`,
      MARIADB_DATABASE,
    );
  }
}

async function benchMariadb(rows: number): Promise<void> {
  fillMariadb(rows);
  const dumpTool = resolveTool(['mariadb-dump', 'mysqldump']);
  const settings: { label: string; compressor?: () => Transform }[] = [
    { label: 'gzip (zlib default, 6)', compressor: () => zlib.createGzip() },
    { label: 'gzip 1', compressor: () => zlib.createGzip({ level: 1 }) },
    ...[1, 3, 6].map((level) => ({
      label: `zstd ${level}`,
      compressor: () => zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: level } }),
    })),
    { label: 'none' },
  ];
  const figures: Figure[] = [];
  for (const setting of settings) {
    const file = path.join(work, 'mariadb.sql');
    let before = process.resourceUsage();
    const figure = await timed(
      `mariadb-dump | ${setting.label}`,
      async () => {
        before = process.resourceUsage();
        const child = spawn(
          dumpTool.file,
          [
            ...dumpTool.prefixArgs,
            '--no-defaults',
            ...(dumpTool.pluginDir ? [`--plugin-dir=${dumpTool.pluginDir}`] : []),
            '--host=127.0.0.1',
            '--port=3306',
            '--protocol=TCP',
            '--user=root',
            '--skip-ssl',
            '--single-transaction',
            '--hex-blob',
            MARIADB_DATABASE,
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        await pipeline([child.stdout, ...(setting.compressor ? [setting.compressor()] : []), createWriteStream(file)]);
        if ((await exited) !== 0) throw new Error(`${dumpTool.name} failed`);
        return statSync(file).size;
      },
      () => cpuSecondsBetween(before, process.resourceUsage()),
    );
    rmSync(file, { force: true });
    figures.push(figure);
  }
  print(
    `MariaDB: ${MARIADB_DATABASE} (${rows.toLocaleString()} rows), ${dumpTool.name}, compressed in Node ${process.version} (cpu: the Node process)`,
    figures,
  );
}

try {
  if (values.only !== 'mariadb') await benchPostgres(values.database);
  const rows = Number(values['mariadb-rows']);
  if (values.only !== 'postgres' && rows > 0) await benchMariadb(rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}
