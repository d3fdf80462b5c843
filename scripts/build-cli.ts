/**
 * Bundles the command line (src/cli.ts and everything it may load) into dist/cli, which
 * bin/stepvault.js runs instead of the sources while the bundle is fresh (bin/cli-bundle.js says
 * when). Each build goes into a folder of its own, named in current.json only once it is whole: a
 * `stepvault run` still going on an older build keeps finding the chunks it loads late. Builds
 * older than a day, other than the current one, are removed.
 *
 *   node scripts/build-cli.ts [--if-stale]
 */
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { CLI_BUNDLE_DIR, CLI_BUNDLE_STAMP, freshCliBundle } from '../bin/cli-bundle.js';

const root = path.resolve(import.meta.dirname, '..');
const KEEP_OLD_BUILDS_MS = 24 * 60 * 60 * 1000;
/** Besides the sources: what decides how imports resolve, and what npm installed. */
const ALSO_STAMPED = ['package.json', 'node_modules/.package-lock.json'];

export interface BuiltCli {
  /** The entry module, absolute. */
  entry: string;
  /** How many files of the checkout the stamp lists. */
  inputs: number;
}

export async function buildCli(checkout = root): Promise<BuiltCli> {
  const { outputFileExtension, ...bundling } = createRequire(import.meta.url)(
    './serverless/esbuild.cjs',
  ) as BuildOptions & {
    outputFileExtension: string;
  };
  const folder = path.join(checkout, CLI_BUNDLE_DIR);
  const startedAt = Date.now();
  const buildName = `b-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const { metafile } = await build({
    ...bundling,
    // Unlike a Lambda package, nobody reads the CLI's size; a stack trace in it stays readable.
    minify: false,
    sourcemap: false,
    entryPoints: ['src/cli.ts'],
    // Chunks beside the entry: every file of the build in one folder.
    chunkNames: '[name]-[hash]',
    outdir: path.join(folder, buildName),
    absWorkingDir: checkout,
    outExtension: { '.js': outputFileExtension },
    logLevel: 'warning',
  });
  if (!metafile) throw new Error('the esbuild settings (scripts/serverless/esbuild.cjs) must ask for a metafile');
  // The files of this checkout it was built from; node_modules stands in as the record of what npm installed.
  const files = [
    ...Object.keys(metafile.inputs).filter((file) => !file.startsWith('node_modules/') && !file.includes(':')),
    ...ALSO_STAMPED,
  ];
  const inputs = await Promise.all(
    files.map(async (file) => {
      const info = await stat(path.join(checkout, file));
      return [file, info.size, info.mtimeMs] as const;
    }),
  );
  const edited = inputs.filter(([, , mtimeMs]) => mtimeMs > startedAt).map(([file]) => file);
  if (edited.length > 0) {
    await rm(path.join(folder, buildName), { recursive: true, force: true });
    throw new Error(`${edited.join(', ')} changed while the command line was bundled; build it again`);
  }
  const entry = `${buildName}/cli${outputFileExtension}`;
  const stamp = path.join(folder, CLI_BUNDLE_STAMP);
  const partial = `${stamp}.${buildName}`;
  await writeFile(partial, `${JSON.stringify({ entry, built: new Date().toISOString(), inputs })}\n`);
  await rename(partial, stamp);
  await removeOldBuilds(folder, buildName);
  return { entry: path.join(folder, entry), inputs: inputs.length };
}

async function removeOldBuilds(folder: string, current: string): Promise<void> {
  for (const name of await readdir(folder)) {
    if (name === current || !name.startsWith('b-')) continue;
    const built = await stat(path.join(folder, name)).catch(() => undefined);
    if (built && Date.now() - built.mtimeMs > KEEP_OLD_BUILDS_MS)
      await rm(path.join(folder, name), { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { 'if-stale': { type: 'boolean', default: false } } });
  if (values['if-stale'] && freshCliBundle(root)) process.exit(0);
  const built = await buildCli();
  console.log(`bundled the command line into ${path.relative(root, built.entry)} (${built.inputs} files stamped)`);
}
