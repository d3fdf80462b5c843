/**
 * Backs up a generated database through `stepvault run` and compares it with a bare
 * `pg_dump -Fc -f`: wall time for both, and the peak RSS of the Node process that dumps, which
 * must stay flat whatever the dump's size (the dump is streamed, never buffered). Each runner
 * asked for runs the same database: efs stages the dump and uploads it, lambda streams it
 * straight into the destination (its staging path is a file, so nothing can be staged), and
 * fargate streams it from the task, which a local run starts as a child process of its own: the
 * task's peak RSS is its own figure, beside the run's.
 *
 *   node scripts/generate-database.ts --size-mb 1024 --database stepvault_bench
 *   node scripts/bench-dump.ts [--database stepvault_bench] [--runner efs,lambda,fargate]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool } from '../src/tools/resolver.ts';

const { values } = parseArgs({
  options: {
    database: { type: 'string', default: 'stepvault_bench' },
    runner: { type: 'string', default: 'efs,lambda,fargate' },
  },
});
const database = values.database;
const runners = values.runner.split(',').map((r) => r.trim());
const RUNNERS = ['efs', 'lambda', 'fargate'];
for (const runner of runners)
  if (!RUNNERS.includes(runner))
    throw new Error(`--runner takes one or more of ${RUNNERS.join(',')}, separated by commas, not ${runner}`);
const work = mkdtempSync(path.join(tmpdir(), 'stepvault-bench-'));
const root = path.resolve(import.meta.dirname, '..');

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

// 1. The bare tool.
const pgDump = resolveTool(['pg_dump']);
const rawFile = path.join(work, 'raw.dump');
const start = process.hrtime.bigint();
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
  /** The fargate runner's task (a child process of the run): its own peak RSS. */
  taskPeakKb?: number;
}

/** VmHWM of a process, in kB; undefined once it has exited. */
function peakOf(pid: number): number | undefined {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return hwm ? Number(hwm[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The children of `pid` that run the task's entrypoint: the local stand-in of an ECS task. */
function taskChildren(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces (Node names its main thread "MainThread").
      const [, rest = ''] = /^\d+ \(.*\) (.*)$/s.exec(readFileSync(`/proc/${entry}/stat`, 'utf8')) ?? [];
      if (Number(rest.split(' ')[1]) !== pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('entrypoint')) children.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return children;
}

async function runWorkflow(runner: string): Promise<RunnerFigures> {
  const dir = path.join(work, runner);
  mkdirSync(dir);
  // The streaming runners stage nothing: a file where their staging folder would be proves it.
  if (runner !== 'efs') writeFileSync(path.join(dir, 'not-a-folder'), 'nothing is staged here');
  writeFileSync(
    path.join(dir, 'stepvault.config.yml'),
    `defaults: { staging: ${runner === 'efs' ? './staging' : './not-a-folder/staging'}, destinations: [local], notify: [desk] }
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
  const taskPeaks = new Map<number, number>();
  const sampler = setInterval(() => {
    peakKb = Math.max(peakKb, peakOf(child.pid!) ?? 0);
    if (runner !== 'fargate') return;
    for (const task of taskChildren(child.pid!))
      taskPeaks.set(task, Math.max(taskPeaks.get(task) ?? 0, peakOf(task) ?? 0));
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  const workflowSeconds = seconds(start);
  if (code !== 0) {
    console.error(output);
    throw new Error(`stepvault run (runner ${runner}) exited ${code}`);
  }
  const dumpState = /✓ ((?:Stream|Fargate)?Dump)\s+(\S+)/.exec(output);
  const stored = /local: .*\/backups\/(.*)/.exec(output)?.[1];
  const size = stored ? statSync(path.join(dir, 'backups', stored)).size : 0;
  return {
    runner,
    seconds: workflowSeconds,
    size,
    dumpState: dumpState ? `${dumpState[1]} state ${dumpState[2]}` : '',
    peakKb,
    ...(taskPeaks.size > 0 && { taskPeakKb: Math.max(...taskPeaks.values()) }),
  };
}

const figures: RunnerFigures[] = [];
for (const runner of runners) figures.push(await runWorkflow(runner));
rmSync(work, { recursive: true, force: true });

const psql = resolveTool(['psql']);
const dbSize = execFileSync(
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
console.log(`database ${database}: ${dbSize}`);
console.log(`pg_dump -Fc -f (bare)        ${rawSeconds.toFixed(1)} s   ${formatBytes(rawSize)}`);
for (const f of figures)
  console.log(
    `stepvault run, runner ${f.runner.padEnd(7)} ${f.seconds.toFixed(1)} s   ${formatBytes(f.size)}   ${f.dumpState}   peak RSS ${(f.peakKb / 1024).toFixed(0)} MB${f.taskPeakKb === undefined ? '' : `, the task's ${(f.taskPeakKb / 1024).toFixed(0)} MB`}`,
  );
