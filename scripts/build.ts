/**
 * Bundles each Lambda handler in functions/ into one ES module file with esbuild, the way the
 * deployment packages them: dist/functions/<name>/index.mjs, exporting `handler`.
 *
 *   node scripts/build.ts [--outdir dist/functions]
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');

export async function buildFunctions(outdir: string): Promise<string[]> {
  const names = readdirSync(path.join(root, 'functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  await Promise.all(
    names.map((name) =>
      build({
        entryPoints: [path.join(root, 'functions', `${name}.ts`)],
        outfile: path.join(outdir, name, 'index.mjs'),
        bundle: true,
        platform: 'node',
        target: 'node24',
        format: 'esm',
        sourcemap: true,
        logLevel: 'warning',
        // Bundled CommonJS dependencies still call require(); give them one.
        banner: { js: "import { createRequire as __stepvaultCreateRequire } from 'node:module'; const require = __stepvaultCreateRequire(import.meta.url);" },
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
