/**
 * Backs up a generated database through `stepvault run` and compares it with a bare
 * `pg_dump -Fc -f`: wall time for both, and the peak RSS of the stepvault Node process, which
 * must stay flat whatever the dump's size (the dump is streamed, never buffered).
 *
 *   node scripts/generate-database.ts --size-mb 1024
 *   node scripts/bench-dump.ts [--database stepvault_bench]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({ options: { database: { type: 'string', default: 'stepvault_bench' } } });
const database = values.database;
const work = mkdtempSync(path.join(tmpdir(), 'stepvault-bench-'));
const root = path.resolve(import.meta.dirname, '..');

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

// 1. The bare tool.
const pgDump = resolveTool(['pg_dump']);
const rawFile = path.join(work, 'raw.dump');
let start = process.hrtime.bigint();
execFileSync(pgDump.file, [...pgDump.prefixArgs, '-Fc', '-U', 'postgres', '-h', '127.0.0.1', '-f', rawFile, database]);
const rawSeconds = seconds(start);
const rawSize = statSync(rawFile).size;
rmSync(rawFile);

// 2. The whole workflow, watching the Node process's peak resident set (VmHWM).
writeFileSync(
  path.join(work, 'stepvault.config.yml'),
  `defaults: { staging: ./staging, destinations: [local], notify: [desk] }
destinations: { local: { type: filesystem, path: ./backups } }
notifications: { desk: { type: outbox, path: ./outbox } }
targets:
  bench: { engine: postgres, host: 127.0.0.1, user: postgres, database: ${database} }
`,
);
start = process.hrtime.bigint();
const child = spawn(process.execPath, [path.join(root, 'bin/stepvault.js'), 'run', '--target', 'bench'], {
  cwd: work,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
let peakKb = 0;
const sampler = setInterval(() => {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
  } catch {
    // The process has just exited.
  }
}, 100);
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
clearInterval(sampler);
const workflowSeconds = seconds(start);
if (code !== 0) {
  console.error(output);
  throw new Error(`stepvault run exited ${code}`);
}
const dumpLine = /✓ Dump\s+(\S+)/.exec(output)?.[1];
const size = Number(
  /Backup of bench succeeded: .*/.exec(output)
    ? statSync(path.join(work, 'backups', /local: .*\/backups\/(.*)/.exec(output)![1]!)).size
    : 0,
);
rmSync(work, { recursive: true, force: true });

const dbSize = execFileSync(
  resolveTool(['psql']).file,
  ['-h', '127.0.0.1', '-U', 'postgres', '-XAtqc', `SELECT pg_size_pretty(pg_database_size('${database}'))`],
  { encoding: 'utf8' },
).trim();
console.log(`database ${database}: ${dbSize}`);
console.log(`pg_dump -Fc -f (bare)        ${rawSeconds.toFixed(1)} s   ${formatBytes(rawSize)}`);
console.log(
  `stepvault run (whole flow)   ${workflowSeconds.toFixed(1)} s   ${formatBytes(size)}   Dump state ${dumpLine}   peak RSS ${(peakKb / 1024).toFixed(0)} MB`,
);
