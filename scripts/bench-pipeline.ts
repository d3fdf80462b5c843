/**
 * What Node's side of a dump costs: pg_dump at stepvault's settings into a file by itself, then
 * through the stages of src/dumpers/stream.ts (the hash, a tee into the archive check's two
 * pg_restore processes, the file), with the tool's reads handed on as they come and gathered into
 * 1 MiB chunks (src/streams/coalesce.ts). Wall time and the Node process's CPU, the median of the
 * samples, each variant in turn within a sample so that the machine's load falls on all alike.
 *
 *   node scripts/generate-database.ts --size-mb 1024 --engines postgres
 *   node scripts/bench-pipeline.ts [--size-mb 1024] [--samples 3]
 *
 * The tools are the dbtools layer's when STEPVAULT_TOOLS_DIR names a built one, else the machine's.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CoalesceStream } from '../src/streams/coalesce.ts';
import { DigestStream } from '../src/streams/digest.ts';
import { TeeStream } from '../src/streams/tee.ts';
import { resolveTool, type ToolCommand } from '../src/tools/resolver.ts';
import { benchDatabaseName } from './bench/tables.ts';
import { median } from './bench/report.ts';

const { values } = parseArgs({
  options: { 'size-mb': { type: 'string', default: '1024' }, samples: { type: 'string', default: '3' } },
});
const database = benchDatabaseName(Number(values['size-mb']));
const samples = Number(values.samples);
const pgDump = resolveTool(['pg_dump']);
const pgRestore = resolveTool(['pg_restore']);
const dumpArgs = ['--format=custom', '-b', '--compress=zstd:1', '-h', '127.0.0.1', '-U', 'postgres', database];
const work = mkdtempSync(path.join(tmpdir(), 'stepvault-bench-pipeline-'));
const output = path.join(work, 'dump');

const start = (tool: ToolCommand, args: string[], stdio: 'stdout' | 'stdin' | 'none') =>
  spawn(tool.file, [...tool.prefixArgs, ...args], {
    stdio: [stdio === 'stdin' ? 'pipe' : 'ignore', stdio === 'stdout' ? 'pipe' : 'ignore', 'inherit'],
  });
const exited = (child: ReturnType<typeof spawn>) =>
  new Promise<void>((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`)))),
  );

type Variant = 'pg_dump -f, alone' | 'chunks as read' | 'gathered into 1 MiB';
const variants: Variant[] = ['pg_dump -f, alone', 'chunks as read', 'gathered into 1 MiB'];

async function once(variant: Variant): Promise<{ seconds: number; cpu: number }> {
  rmSync(output, { force: true });
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  if (variant === 'pg_dump -f, alone') {
    await exited(start(pgDump, [...dumpArgs, `--file=${output}`], 'none'));
  } else {
    const dump = start(pgDump, dumpArgs, 'stdout');
    // Listened for at once: pg_dump may be gone before the pipeline below has ended.
    const dumped = exited(dump);
    const tee = new TeeStream();
    const checks = [['--list'], ['--data-only', '--file=/dev/null']].map((args) => {
      const check = start(pgRestore, args, 'stdin');
      tee.add(check.stdin!);
      return exited(check);
    });
    const stages: Transform[] = [
      ...(variant === 'gathered into 1 MiB' ? [new CoalesceStream()] : []),
      new DigestStream(),
      tee,
    ];
    await pipeline([dump.stdout!, ...stages, createWriteStream(output, { flush: true })]);
    await Promise.all([dumped, ...checks]);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return { seconds: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

try {
  const results = new Map<Variant, { seconds: number[]; cpu: number[] }>(
    variants.map((v) => [v, { seconds: [], cpu: [] }]),
  );
  for (let sample = 0; sample < samples; sample++)
    for (const variant of variants) {
      const { seconds, cpu } = await once(variant);
      results.get(variant)!.seconds.push(seconds);
      results.get(variant)!.cpu.push(cpu);
    }
  console.log(`pg_dump of ${database} at stepvault's settings, median of ${samples}:`);
  for (const [variant, { seconds, cpu }] of results)
    console.log(`  ${variant.padEnd(22)} ${median(seconds).toFixed(2)} s wall, Node CPU ${median(cpu).toFixed(2)} s`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
