/**
 * What counting rows costs the archive check: `pg_restore --data-only` output of a generated
 * database, written once to a file, then read through CopyRowCounter and through nothing: the
 * difference is the counting's own CPU, printed with its throughput.
 *
 *   node scripts/generate-database.ts --size-mb 500 --database stepvault_bench
 *   node scripts/bench-row-counts.ts [--database stepvault_bench]
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CopyRowCounter } from '../src/dumpers/row-counts.ts';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({ options: { database: { type: 'string', default: 'stepvault_bench' } } });
const work = mkdtempSync(path.join(tmpdir(), 'stepvault-bench-rows-'));
const archive = path.join(work, 'archive.dump');
const data = path.join(work, 'data.sql');

try {
  const pgDump = resolveTool(['pg_dump']);
  const pgRestore = resolveTool(['pg_restore']);
  execFileSync(pgDump.file, [
    ...pgDump.prefixArgs,
    '-Fc',
    '--compress=none',
    '-h',
    '127.0.0.1',
    '-U',
    'postgres',
    '-f',
    archive,
    values.database,
  ]);
  execFileSync(pgRestore.file, [...pgRestore.prefixArgs, '--data-only', `--file=${data}`, archive]);
  const size = statSync(data).size;

  /** The fewest CPU seconds of three passes: the machine is shared, the least disturbed pass is the cost. */
  const pass = async (through: () => Transform[]): Promise<number> => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const before = process.cpuUsage();
      await pipeline([
        createReadStream(data, { highWaterMark: 64 * 1024 }),
        ...through(),
        new Writable({ write: (_chunk, _encoding, done) => done() }),
      ]);
      const cpu = process.cpuUsage(before);
      best = Math.min(best, (cpu.user + cpu.system) / 1e6);
    }
    return best;
  };
  console.log(
    `pg_restore --data-only output of ${values.database}: ${formatBytes(size)} (64 KB chunks, as from a pipe)`,
  );
  const reading = await pass(() => []);
  let counter = new CopyRowCounter();
  const counting = await pass(() => {
    counter = new CopyRowCounter();
    return [counter];
  });
  const rows = Object.values(counter.counts).reduce((a, b) => a + b, 0);
  const own = Math.max(counting - reading, 0.001);
  console.log(`reading alone          ${reading.toFixed(2)} s cpu`);
  console.log(`reading + counting     ${counting.toFixed(2)} s cpu`);
  console.log(
    `counting               ${own.toFixed(2)} s cpu: ${(size / 1024 / 1024 / own).toFixed(0)} MB/s, ${(rows / own / 1e6).toFixed(1)} M rows/s of one core`,
  );
  console.log(`${Object.keys(counter.counts).length} tables, ${rows.toLocaleString()} rows`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
