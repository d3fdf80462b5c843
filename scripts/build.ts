/**
 * Bundles each Lambda handler in functions/ into one ES module file with esbuild, the way the
 * deployment packages them: dist/functions/<name>/index.mjs, exporting `handler`.
 *
 *   node scripts/build.ts [--outdir dist/functions]
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { handlerFile, STEP_NAMES } from '../src/steps/table.ts';

const root = path.resolve(import.meta.dirname, '..');

/** The settings serverless-esbuild bundles with (serverless.yml reads the same file). */
const { outputFileExtension, ...bundling } = createRequire(import.meta.url)(
  './serverless/esbuild.cjs',
) as BuildOptions & { outputFileExtension: string };

export async function buildFunctions(outdir: string): Promise<string[]> {
  const names = [...STEP_NAMES];
  await Promise.all(
    names.map((name) =>
      build({
        ...bundling,
        entryPoints: [path.join(root, handlerFile(name))],
        outfile: path.join(outdir, name, `index${outputFileExtension}`),
        logLevel: 'warning',
      }),
    ),
  );
  return names;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist/functions') } } });
  const names = await buildFunctions(path.resolve(values.outdir));
  console.log(`bundled ${names.join(', ')} into ${path.relative(process.cwd(), values.outdir) || values.outdir}`);
}
