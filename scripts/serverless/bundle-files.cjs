'use strict';
// Which files of a code-split bundle a function needs, read from esbuild's metafile: said once for
// the deployment packaging (lazy-chunks.cjs), scripts/build.ts, the bundle tests and the benchmark.
//
// A cold start parses the entry and every chunk it imports statically, transitively, before the
// handler runs ("cold load"). The package must also hold the chunks behind dynamic import()s, which
// are read only when that import runs.

/**
 * @typedef {{ path: string, kind: string, external?: boolean }} Import
 * @param {{ outputs: Record<string, { entryPoint?: string, imports: Import[] }> }} metafile
 * @param {string} entryPoint the function's source file as the metafile names it (relative to the
 *   working directory)
 * @returns {{ entry: string, coldLoad: string[], packaged: string[], chunks: string[] }} output
 *   paths as the metafile names them
 */
function bundleFiles(metafile, entryPoint) {
  const outputs = metafile.outputs;
  const code = Object.keys(outputs).filter((file) => !file.endsWith('.map'));
  // Each dynamic import's chunk has an entryPoint too. Some are orphans: esbuild writes a chunk for
  // an import() it later drops as dead code (bowser's, in the AWS SDK), and nothing loads it.
  const entry = code.find((file) => outputs[file].entryPoint === entryPoint);
  if (entry === undefined) throw new Error(`no output of ${entryPoint} in the bundle`);
  const reach = (kinds) => {
    const seen = new Set([entry]);
    const queue = [entry];
    while (queue.length > 0) {
      for (const imported of outputs[queue.shift()].imports) {
        if (imported.external || !kinds.includes(imported.kind) || seen.has(imported.path)) continue;
        seen.add(imported.path);
        queue.push(imported.path);
      }
    }
    return [...seen];
  };
  return {
    entry,
    coldLoad: reach(['import-statement']),
    packaged: reach(['import-statement', 'dynamic-import']),
    chunks: code.filter((file) => file !== entry),
  };
}

module.exports = { bundleFiles };
