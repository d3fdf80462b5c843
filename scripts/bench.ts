/**
 * `npm run bench`: one table from one run of the benchmark. For each engine, on a generated
 * multi-table database (scripts/bench/tables.ts) of the size asked for: the raw tool at its
 * default settings, at stepvault's settings (asked of the dumpers themselves) and in parallel,
 * then `stepvault run` (the default runner, the lambda runner, `dump.jobs: 2`, and both runners with
 * the dump encrypted with age for one recipient) into a folder
 * and into an S3 server (its own process, so its memory is not counted); time, size, speed and
 * size against the raw tool at the same settings, and the peak RSS of stepvault's Node process.
 * Then each Lambda bundle's size and median cold import, and `stepvault --help`.
 *
 * Every row is run `--runs` times (3 by default), round by round, and shows the median time with
 * the fastest and slowest; "speed vs raw" is the median of each round's raw time over the run's.
 * The command line runs as `npm run build:cli` leaves it (bundled; built first if stale).
 *
 *   npm run bench -- --size-mb 1024 [--engines postgres,mariadb] [--reuse] [--runs 3] [--samples 7] [--no-bundles]
 *
 * The dump tools are the dbtools layer's (built from its download cache unless STEPVAULT_TOOLS_DIR
 * names one), as on Lambda: pg_dump 18 and mariadb-dump 11, whatever the machine has installed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { freshCliBundle } from '../bin/cli-bundle.js';
import { buildLayer } from '../layers/dbtools/build.ts';
import type { ConnectedTarget } from '../src/config/load.ts';
import { formatBytes } from '../src/text/format.ts';
import { resolveTool, type ToolCommand, toolVersionLine } from '../src/tools/resolver.ts';
import { type S3TestServer, startS3Server } from '../test/helpers/s3-server.ts';
import { benchBundles } from './bench-bundles.ts';
import { buildCli } from './build-cli.ts';
import { type BenchEngine, ensureDatabase } from './bench/databases.ts';
import { runRaw } from './bench/raw.ts';
import { markdownTable, median, type Row, table } from './bench/report.ts';
import { benchTarget, mariadbRaw, pgRaw, type RawCommand } from './bench/settings.ts';
import { benchDatabaseName } from './bench/tables.ts';
import { runWorkflow } from './bench/workflow.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    engines: { type: 'string', default: 'postgres,mariadb' },
    reuse: { type: 'boolean', default: false },
    samples: { type: 'string', default: '7' },
    runs: { type: 'string', default: '3' },
    'no-bundles': { type: 'boolean', default: false },
  },
});
const sizeMb = Number(values['size-mb']);
if (!Number.isInteger(sizeMb) || sizeMb < 1)
  throw new Error(`--size-mb takes a whole number of MiB, not ${values['size-mb']}`);
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs takes a whole number of rounds, not ${values.runs}`);
const engines = values.engines.split(',').map((e) => e.trim()) as BenchEngine[];
for (const engine of engines)
  if (engine !== 'postgres' && engine !== 'mariadb')
    throw new Error(`--engines takes postgres, mariadb or both (postgres,mariadb), not ${engine}`);
const log = (line: string) => console.error(`bench: ${line}`);
const ROOT = path.resolve(import.meta.dirname, '..');
const loadAtStart = os.loadavg();

if (!freshCliBundle(ROOT)) {
  log('bundling the command line (npm run build:cli)');
  await buildCli();
}
const toolsDir =
  process.env.STEPVAULT_TOOLS_DIR ??
  (await buildLayer({ arch: process.arch === 'arm64' ? 'arm64' : 'x86_64', log: () => undefined })).layerDir;
const work = mkdtempSync(path.join(os.tmpdir(), 'stepvault-bench-'));
const s3 = await startS3Server(['bench']);
// After the S3 server: it sets the variable its access key is read from.
const env = { ...process.env, STEPVAULT_TOOLS_DIR: toolsDir };
const rows: Row[] = [];
const databases: string[] = [];
const versions: string[] = [];
const database = benchDatabaseName(sizeMb);
let step = 0;
// A recipient whose identity is thrown away: what is measured is encrypting, nothing reads it back.
const recipient = await identityToRecipient(await generateX25519Identity());
const encrypted = `, encryption: { age: { recipients: [${recipient}] } }`;
const scratch = (name: string) => path.join(work, `${++step}-${name}`);

try {
  for (const engine of engines) {
    const db = ensureDatabase(engine, database, sizeMb, { reuse: values.reuse, log });
    databases.push(`${engine} ${formatBytes(db.bytes)}`);
    const target = benchTarget(engine, database);
    if ('unavailable' in target) throw new Error(target.unavailable);
    const tool = resolveTool(engine === 'postgres' ? ['pg_dump'] : ['mariadb-dump', 'mysqldump'], env);
    // The tool's name, not where it is: the line goes into the README.
    versions.push((await toolVersionLine(tool)).replace(/,? for .*$/, '').replace(/^\S*\//, ''));
    await benchEngine(engine, target, tool);
  }
} finally {
  await s3.stop();
  rmSync(work, { recursive: true, force: true });
}

async function benchEngine(engine: BenchEngine, target: ConnectedTarget, tool: ToolCommand): Promise<void> {
  const optionFile = path.join(work, 'client.cnf');
  writeFileSync(optionFile, '[client]\n', { mode: 0o600 });
  const command = (kind: RawKind): RawCommand | undefined =>
    engine === 'postgres'
      ? pgRaw(target, '', kind)
      : kind === 'parallel'
        ? undefined
        : mariadbRaw(target, tool, optionFile, kind);
  const jobs = benchTarget(engine, target.database, ', dump: { jobs: 2 }');
  const variants: Variant[] = [
    { what: 'stepvault run', runner: 'efs', baseline: 'stepvault' },
    { what: 'stepvault run, runner lambda', runner: 'lambda', baseline: 'stepvault' },
    'unavailable' in jobs
      ? { what: 'stepvault run, jobs 2', runner: 'efs', unavailable: 'not available' }
      : { what: 'stepvault run, jobs 2', runner: 'efs', extra: ', dump: { jobs: 2 }', baseline: 'parallel' },
    { what: 'stepvault run, age encrypted', runner: 'efs', extra: encrypted, baseline: 'stepvault' },
    { what: 'stepvault run, runner lambda, age encrypted', runner: 'lambda', extra: encrypted, baseline: 'stepvault' },
  ];
  const raws: { what: string; kind: RawKind }[] = [
    { what: 'raw, default settings', kind: 'default' },
    { what: "raw, stepvault's settings", kind: 'stepvault' },
    { what: 'raw, parallel', kind: 'parallel' },
  ];
  const samples = new Map<string, Sample[]>();
  const keep = (key: string, sample: Sample) => samples.set(key, [...(samples.get(key) ?? []), sample]);

  // Round by round, every row once: a change in the machine's load falls on the raw tool and on
  // stepvault alike, and each stepvault run is compared with the raw run of its own round.
  for (let round = 1; round <= runs; round++) {
    const rawOfRound = new Map<RawKind, number>();
    for (const { what, kind } of raws) {
      const described = command(kind);
      if (!described) continue;
      const output = scratch(`raw-${kind}`);
      const run = await runRaw(tool, engine === 'postgres' ? pgRaw(target, output, kind) : described, output, env);
      rmSync(output, { recursive: true, force: true });
      log(`${engine} ${what} (round ${round} of ${runs}): ${run.seconds.toFixed(1)} s`);
      rawOfRound.set(kind, run.seconds);
      keep(what, { seconds: run.seconds, size: run.size });
    }
    for (const variant of variants) {
      if (variant.unavailable) continue;
      for (const destination of ['folder', 's3'] as const) {
        const dir = scratch(`${engine}-${variant.runner}-${destination}`);
        const run = await runWorkflow(dir, {
          engine,
          database: target.database,
          runner: variant.runner,
          destination,
          ...(variant.extra && { extra: variant.extra }),
          s3: s3 as S3TestServer,
          env,
        });
        rmSync(dir, { recursive: true, force: true });
        const raw = variant.baseline && rawOfRound.get(variant.baseline);
        log(
          `${engine} ${variant.what} to ${destination} (round ${round} of ${runs}): ${run.seconds.toFixed(1)} s, ` +
            `${(run.peakRss / 1048576).toFixed(0)} MB${raw ? `, ${(raw / run.seconds).toFixed(2)}× raw` : ''}`,
        );
        keep(`${variant.what}/${destination}`, {
          seconds: run.seconds,
          size: run.size,
          peakRss: run.peakRss,
          settings: `runner ${variant.runner}, ${run.compression}; ${run.dumpState}`,
          ...(raw && { speed: raw / run.seconds }),
        });
      }
    }
  }

  for (const { what, kind } of raws) {
    const described = command(kind);
    if (!described) {
      rows.push({
        engine,
        what,
        destination: 'folder',
        settings: '',
        unavailable: `${tool.name} has no parallel mode`,
      });
      continue;
    }
    rows.push({ engine, what, destination: 'folder', settings: described.settings, ...summary(samples.get(what)!) });
  }
  for (const variant of variants)
    for (const destination of ['folder', 's3'] as const) {
      const to = destination === 'folder' ? 'folder' : 'S3 server';
      if (variant.unavailable) {
        rows.push({ engine, what: variant.what, destination: to, settings: '', unavailable: variant.unavailable });
        continue;
      }
      const runsOfRow = samples.get(`${variant.what}/${destination}`)!;
      rows.push({
        engine,
        what: variant.what,
        destination: to,
        settings: runsOfRow.at(-1)!.settings!,
        ...summary(runsOfRow),
      });
    }
}

type RawKind = 'default' | 'stepvault' | 'parallel';

interface Variant {
  what: string;
  runner: 'efs' | 'lambda';
  extra?: string;
  /** The raw run it is compared with. */
  baseline?: RawKind;
  unavailable?: string;
}

interface Sample {
  seconds: number;
  size: number;
  peakRss?: number;
  settings?: string;
  speed?: number;
}

/** A row's figures from its rounds: median time and speed, the range, the highest peak RSS. */
function summary(of: Sample[]): Pick<Row, 'seconds' | 'range' | 'size' | 'speed' | 'peakRss'> {
  const seconds = of.map((s) => s.seconds);
  const speeds = of.flatMap((s) => (s.speed === undefined ? [] : [s.speed]));
  const peaks = of.flatMap((s) => (s.peakRss === undefined ? [] : [s.peakRss]));
  return {
    seconds: median(seconds),
    ...(of.length > 1 && { range: [Math.min(...seconds), Math.max(...seconds)] as [number, number] }),
    size: of.at(-1)!.size,
    ...(speeds.length > 0 && { speed: median(speeds) }),
    ...(peaks.length > 0 && { peakRss: Math.max(...peaks) }),
  };
}

const cpus = os.cpus();
const serverVersions = [
  engines.includes('postgres') &&
    `PostgreSQL ${execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-XAtqc', 'SHOW server_version'], { encoding: 'utf8' }).trim().split(' ')[0]}`,
  engines.includes('mariadb') &&
    `MariaDB ${execFileSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-u', 'root', '--protocol=TCP', '-NBe', 'SELECT VERSION()'], { encoding: 'utf8' }).trim()}`,
].filter(Boolean);

console.log(
  `\n### ${sizeMb} MiB database (${databases.join(', ')}), ${runs === 1 ? 'one run each' : `median of ${runs} rounds`}\n`,
);
console.log(markdownTable(rows));
console.log(
  '\ntime: the median, (fastest–slowest) of the rounds. speed vs raw: the raw tool\'s time over this run\'s, at the same settings, round by round, then the median (stepvault rows: the whole `stepvault run` process, Plan to Done, Node start included; "jobs" rows against raw parallel). Peak Node RSS: VmHWM of the stepvault process, sampled every 50 ms, the highest of the rounds.',
);

if (!values['no-bundles']) {
  const samples = Number(values.samples);
  // The table above stands even when the bundles cannot be built (a dependency missing here).
  const bundles = await benchBundles({ samples }).catch((error: unknown) => {
    console.log(`\nBundles not measured: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  });
  if (bundles) {
    console.log(`\n### Bundles and the command line (median of ${samples} fresh processes)\n`);
    console.log(
      table(
        ['function', 'cold load', 'package', 'median cold import'],
        bundles.map((b) => [
          b.name,
          b.coldLoadBytes === undefined ? '—' : formatBytes(b.coldLoadBytes),
          b.packageBytes === undefined ? '—' : formatBytes(b.packageBytes),
          `${b.medianMs.toFixed(0)} ms`,
        ]),
      ),
    );
  }
}

const load = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ');
console.log(
  `\nMachine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${formatBytes(os.totalmem())} RAM, Node ${process.version}, ` +
    `${serverVersions.join(', ')}; ${versions.join('; ')}. Load average ${load(loadAtStart)} at start, ${load(os.loadavg())} at the end.`,
);
