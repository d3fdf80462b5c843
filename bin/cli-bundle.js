// The command line's bundle, dist/cli (scripts/build-cli.ts): one module and its lazily loaded
// chunks instead of some 560 source files, which start `stepvault run` about 0.1 s sooner. It is a
// cache of the sources, used only while it is one: dist/cli/current.json lists every file of this
// checkout the bundle was built from (and node_modules' install record) with its size and
// modification time, and a single one that differs, or is gone, sends the command to the sources.
// Plain JavaScript, so that checking costs no TypeScript: about 250 stats, 2–3 ms.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const CLI_BUNDLE_DIR = 'dist/cli';
export const CLI_BUNDLE_STAMP = 'current.json';

/**
 * The URL of the bundle's entry module when the bundle under `root` is fresh, else undefined.
 * @param {string} root the checkout
 * @returns {string | undefined}
 */
export function freshCliBundle(root) {
  const folder = path.join(root, CLI_BUNDLE_DIR);
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(folder, CLI_BUNDLE_STAMP), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof stamp?.entry !== 'string' || !Array.isArray(stamp.inputs)) return undefined;
  for (const [file, size, mtimeMs] of stamp.inputs) {
    const info = statSync(path.join(root, file), { throwIfNoEntry: false });
    if (!info || info.size !== size || info.mtimeMs !== mtimeMs) return undefined;
  }
  return pathToFileURL(path.join(folder, stamp.entry)).href;
}
