/**
 * How big each Lambda bundle is and how long Node takes to load it cold, and how long
 * `stepvault --help` takes: what a cold start and a user's first command cost.
 *
 * A bundle is index.mjs and chunks (scripts/build.ts): its cold load is index.mjs and the chunks it
 * imports statically, what Node reads and parses before the handler runs; its package adds the
 * chunks behind dynamic import()s (SQL Server's driver, the SMTP client, the Drive and Dropbox
 * SDKs), read only when used. Both are counted without source maps.
 *
 * A cold import is timed inside a fresh `node` process with performance.now() around the
 * `import()` of the bundle, under the environment Lambda gives it (a config to read, a region):
 * that is the module init a cold start pays on top of the runtime's own start, without the
 * noise of spawning the process. `--help` is timed from outside, as the user waits for it:
 * the whole `node bin/stepvault.js --help` process, wall clock.
 *
 *   node scripts/bench-bundles.ts [--samples 7] [--no-build]
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { type BuiltFunction, buildFunctions, builtFunctions } from './build.ts';
import { median } from './bench/report.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

export interface BundleRow {
  /** A step's name, or `stepvault --help`. */
  name: string;
  /** What a cold start reads: index.mjs and its static imports, in bytes; undefined for the CLI. */
  coldLoadBytes?: number;
  /** Every file the function may load, lazily loaded chunks too, in bytes; undefined for the CLI. */
  packageBytes?: number;
  /** Median over the samples, in milliseconds. */
  medianMs: number;
}

/** The smallest config a bundle loads on import. */
const CONFIG = `destinations: { local: { type: filesystem, path: /mnt/backups } }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, destinations: [local], staging: /mnt/staging }
`;

/** Runs in each fresh process: imports the bundle and prints how long that took. */
const IMPORT_ONCE = `const started = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));`;

async function sizeOf(files: string[]): Promise<number> {
  return (await Promise.all(files.map(async (file) => (await stat(file)).size))).reduce((a, b) => a + b, 0);
}

async function coldImportMs(bundle: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', IMPORT_ONCE, pathToFileURL(bundle).href],
    {
      env,
    },
  );
  return Number(stdout);
}

function helpMs(): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [path.join(root, 'bin/stepvault.js'), '--help'], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`stepvault --help exited with ${result.status}`);
  return performance.now() - started;
}

/** Builds the bundles into a scratch directory (unless given one) and measures them one sample at a time. */
export async function benchBundles(options: { samples?: number; outdir?: string } = {}): Promise<BundleRow[]> {
  const samples = options.samples ?? 7;
  const scratch = await mkdtemp(path.join(tmpdir(), 'stepvault-bench-bundles-'));
  try {
    const functions: BuiltFunction[] = options.outdir
      ? await builtFunctions(options.outdir)
      : await buildFunctions(path.join(scratch, 'functions'));
    await writeFile(path.join(scratch, 'stepvault.config.yml'), CONFIG);
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_LAMBDA_FUNCTION_NAME: 'stepvault-bench',
      STEPVAULT_CONFIG: path.join(scratch, 'stepvault.config.yml'),
    };
    const rows: BundleRow[] = [];
    for (const fn of functions) {
      const times: number[] = [];
      // One at a time: parallel samples would measure the contention between them.
      for (let i = 0; i < samples; i++) times.push(await coldImportMs(fn.entry, env));
      rows.push({
        name: fn.name,
        coldLoadBytes: await sizeOf(fn.coldLoad),
        packageBytes: await sizeOf(fn.packaged),
        medianMs: median(times),
      });
    }
    const help: number[] = [];
    for (let i = 0; i < samples; i++) help.push(helpMs());
    rows.push({ name: 'stepvault --help', medianMs: median(help) });
    return rows;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { samples: { type: 'string', default: '7' }, 'no-build': { type: 'boolean', default: false } },
  });
  const rows = await benchBundles({
    samples: Number(values.samples),
    ...(values['no-build'] && { outdir: path.join(root, 'dist/functions') }),
  });
  const kb = (bytes: number | undefined) => (bytes === undefined ? '' : (bytes / 1024).toFixed(0));
  console.log(
    `${'function'.padEnd(18)} ${'cold load KB'.padStart(13)} ${'package KB'.padStart(11)} ${'cold import ms'.padStart(15)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(18)} ${kb(row.coldLoadBytes).padStart(13)} ${kb(row.packageBytes).padStart(11)} ${row.medianMs.toFixed(0).padStart(15)}`,
    );
  }
  console.log(`median of ${values.samples} fresh processes each; --help is the whole process, wall clock`);
}
