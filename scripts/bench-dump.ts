/**
 * Backs up a generated database through `stepvault run` and compares it with a bare
 * `pg_dump -Fc -f`: wall time for both, and the peak RSS of the stepvault Node process, which
 * must stay flat whatever the dump's size (the dump is streamed, never buffered). Each runner
 * asked for runs the same database: efs stages the dump and uploads it, lambda streams it
 * straight into the destination (its staging path is a file, so nothing can be staged).
 *
 *   node scripts/generate-database.ts --size-mb 1024
 *   node scripts/bench-dump.ts [--database stepvault_bench] [--runner efs,lambda]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'stepvault_bench' },
    runner: { type: 'string', default: 'efs,lambda' },
  },
});
const database = values.database;
const runners = values.runner.split(',').map((r) => r.trim());
for (const runner of runners)
  if (runner !== 'efs' && runner !== 'lambda')
    throw new Error(`--runner takes efs, lambda or both (efs,lambda), not ${runner}`);
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

// 2. The whole workflow per runner, watching the Node process's peak resident set (VmHWM).
interface RunnerFigures {
  runner: string;
  seconds: number;
  size: number;
  dumpState: string;
  peakKb: number;
}

async function runWorkflow(runner: string): Promise<RunnerFigures> {
  const dir = path.join(work, runner);
  mkdirSync(dir);
  // The lambda runner stages nothing: a file where its staging folder would be proves it.
  if (runner === 'lambda') writeFileSync(path.join(dir, 'not-a-folder'), 'nothing is staged here');
  writeFileSync(
    path.join(dir, 'stepvault.config.yml'),
    `defaults: { staging: ${runner === 'lambda' ? './not-a-folder/staging' : './staging'}, destinations: [local], notify: [desk] }
destinations: { local: { type: filesystem, path: ./backups } }
notifications: { desk: { type: outbox, path: ./outbox } }
targets:
  bench: { engine: postgres, host: 127.0.0.1, user: postgres, database: ${database}, runner: ${runner} }
`,
  );
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [path.join(root, 'bin/stepvault.js'), 'run', '--target', 'bench'], {
    cwd: dir,
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
    throw new Error(`stepvault run (runner ${runner}) exited ${code}`);
  }
  const dumpState = /✓ ((?:Stream)?Dump)\s+(\S+)/.exec(output);
  const stored = /local: .*\/backups\/(.*)/.exec(output)?.[1];
  const size = stored ? statSync(path.join(dir, 'backups', stored)).size : 0;
  return {
    runner,
    seconds: workflowSeconds,
    size,
    dumpState: dumpState ? `${dumpState[1]} state ${dumpState[2]}` : '',
    peakKb,
  };
}

const figures: RunnerFigures[] = [];
for (const runner of runners) figures.push(await runWorkflow(runner));
rmSync(work, { recursive: true, force: true });

const dbSize = execFileSync(
  resolveTool(['psql']).file,
  ['-h', '127.0.0.1', '-U', 'postgres', '-XAtqc', `SELECT pg_size_pretty(pg_database_size('${database}'))`],
  { encoding: 'utf8' },
).trim();
console.log(`database ${database}: ${dbSize}`);
console.log(`pg_dump -Fc -f (bare)        ${rawSeconds.toFixed(1)} s   ${formatBytes(rawSize)}`);
for (const f of figures)
  console.log(
    `stepvault run, runner ${f.runner.padEnd(6)} ${f.seconds.toFixed(1)} s   ${formatBytes(f.size)}   ${f.dumpState}   peak RSS ${(f.peakKb / 1024).toFixed(0)} MB`,
  );
