/**
 * Bundles each Lambda handler in functions/ with esbuild, the way the deployment packages them:
 * dist/functions/<name>/index.mjs exporting `handler`, beside it chunks/ with the code its dynamic
 * import()s load, and dist/functions/<name>.meta.json, esbuild's metafile (which file imports which).
 *
 *   node scripts/build.ts [--outdir dist/functions]
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { handlerFile, STEP_NAMES, type StepName } from '../src/steps/table.ts';

const root = path.resolve(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

/** The settings serverless-esbuild bundles with (serverless.yml reads the same file). */
export const { outputFileExtension, ...bundling } = require('./serverless/esbuild.cjs') as BuildOptions & {
  outputFileExtension: string;
};

const { bundleFiles } = require('./serverless/bundle-files.cjs') as {
  bundleFiles(
    metafile: Metafile,
    entryPoint: string,
  ): { entry: string; coldLoad: string[]; packaged: string[]; chunks: string[] };
};

/** One function's bundle: absolute paths of its files. */
export interface BuiltFunction {
  name: StepName;
  /** index.mjs, which Lambda imports. */
  entry: string;
  /** What a cold start parses before the handler runs: the entry and the chunks it imports statically. */
  coldLoad: string[];
  /** Every file the function may load, lazily loaded chunks too: what its package holds (source maps aside). */
  packaged: string[];
}

/** The files of a step's bundle, from its metafile (whose paths are relative to the directory esbuild ran in). */
export function filesOf(name: StepName, metafile: Metafile): BuiltFunction {
  const files = bundleFiles(metafile, handlerFile(name));
  const absolute = (file: string) => path.resolve(root, file);
  return {
    name,
    entry: absolute(files.entry),
    coldLoad: files.coldLoad.map(absolute),
    packaged: files.packaged.map(absolute),
  };
}

/** Bundles one function into `<outdir>/<name>/` as index.mjs and its chunks. */
export async function buildFunction(name: StepName, outdir: string): Promise<BuiltFunction> {
  // Chunk names carry a hash of their content: a rebuild would otherwise leave the old ones beside the new.
  await rm(path.join(outdir, name), { recursive: true, force: true });
  const { metafile } = await build({
    ...bundling,
    // Relative to absWorkingDir: the metafile names it so, as when serverless-esbuild builds it.
    entryPoints: [handlerFile(name)],
    outdir: path.join(outdir, name),
    entryNames: 'index',
    absWorkingDir: root,
    outExtension: { '.js': outputFileExtension },
    logLevel: 'warning',
  });
  if (!metafile) throw new Error('the esbuild settings (scripts/serverless/esbuild.cjs) must ask for a metafile');
  await writeFile(path.join(outdir, `${name}.meta.json`), JSON.stringify(metafile));
  return filesOf(name, metafile);
}

/** Reads back what buildFunctions wrote to outdir, without building. */
export async function builtFunctions(outdir: string): Promise<BuiltFunction[]> {
  return Promise.all(
    STEP_NAMES.map(async (name) =>
      filesOf(name, JSON.parse(await readFile(path.join(outdir, `${name}.meta.json`), 'utf8')) as Metafile),
    ),
  );
}

export async function buildFunctions(outdir: string): Promise<BuiltFunction[]> {
  return Promise.all(STEP_NAMES.map((name) => buildFunction(name, outdir)));
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist/functions') } } });
  const built = await buildFunctions(path.resolve(values.outdir));
  console.log(
    `bundled ${built.map((f) => f.name).join(', ')} into ${path.relative(process.cwd(), values.outdir) || values.outdir}`,
  );
}
