/**
 * What a dump tool's 4 KiB stdio writes cost Node: mariadb-dump of the benchmark database read
 * from its pipe as stepvault reads it, with and without the 1 MiB output buffer the dbtools
 * layer's libstdbuf gives it (src/tools/output-buffer.ts). Prints the reads Node woke for, their
 * average size, the Node process's CPU and the wall time, the median of the samples, both
 * variants in turn within a sample so that the machine's load falls on both alike.
 *
 *   node scripts/generate-database.ts --size-mb 1024 --engines mariadb
 *   STEPVAULT_TOOLS_DIR=<built layer> node scripts/bench-pipe-reads.ts [--size-mb 1024] [--samples 3]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { outputBufferEnvironment } from '../src/tools/output-buffer.ts';
import { toolEnvironment } from '../src/tools/environment.ts';
import { resolveTool } from '../src/tools/resolver.ts';
import { median } from './bench/report.ts';
import { benchDatabaseName } from './bench/tables.ts';

const { values } = parseArgs({
  options: { 'size-mb': { type: 'string', default: '1024' }, samples: { type: 'string', default: '3' } },
});
const database = benchDatabaseName(Number(values['size-mb']));
const samples = Number(values.samples);
const tool = resolveTool(['mariadb-dump']);
if (!tool.outputBufferLibrary)
  throw new Error('this mariadb-dump has no output buffer library: set STEPVAULT_TOOLS_DIR to a built dbtools layer');
const args = [
  ...tool.prefixArgs,
  '--no-defaults',
  '--skip-ssl',
  '--host=127.0.0.1',
  '--user=root',
  '--protocol=TCP',
  '--single-transaction',
  '--hex-blob',
  '--',
  database,
];

type Variant = '4 KiB stdio (as built)' | '1 MiB (libstdbuf)';
const variants: Record<Variant, Record<string, string>> = {
  '4 KiB stdio (as built)': {},
  '1 MiB (libstdbuf)': outputBufferEnvironment(tool),
};

async function once(
  extra: Record<string, string>,
): Promise<{ reads: number; bytes: number; cpu: number; wall: number }> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const child = spawn(tool.file, args, { env: toolEnvironment(extra), stdio: ['ignore', 'pipe', 'inherit'] });
  let reads = 0;
  let bytes = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    reads += 1;
    bytes += chunk.length;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`mariadb-dump exited ${code}`);
  const cpu = process.cpuUsage(cpuBefore);
  return { reads, bytes, cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - started) / 1000 };
}

const results = new Map<Variant, Awaited<ReturnType<typeof once>>[]>();
for (let sample = 0; sample < samples; sample++)
  for (const [variant, extra] of Object.entries(variants) as [Variant, Record<string, string>][])
    results.set(variant, [...(results.get(variant) ?? []), await once(extra)]);

console.log(`mariadb-dump of ${database} read by Node from its pipe, median of ${samples}:`);
for (const [variant, runs] of results) {
  const reads = median(runs.map((r) => r.reads));
  const bytes = runs[0]!.bytes;
  console.log(
    `  ${variant.padEnd(24)} ${reads.toLocaleString('en')} reads of ${Math.round(bytes / reads / 1024)} KiB on average, ` +
      `Node CPU ${median(runs.map((r) => r.cpu)).toFixed(2)} s, ${median(runs.map((r) => r.wall)).toFixed(2)} s wall`,
  );
}
