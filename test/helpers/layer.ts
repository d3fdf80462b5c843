/** Builds the dbtools layer once per test file (the download cache makes a rebuild quick). */
import path from 'node:path';
import { buildLayer, type BuiltLayer } from '../../layers/dbtools/build.ts';

const built = new Map<string, Promise<BuiltLayer>>();

export function layerFor(arch: 'x86_64' | 'arm64'): Promise<BuiltLayer> {
  let pending = built.get(arch);
  if (!pending) {
    pending = buildLayer({ arch, log: () => undefined });
    built.set(arch, pending);
  }
  return pending;
}

/** Runs one of the layer's tools from where it was built, through its own loader. */
export function layerCommand(layer: BuiltLayer, tool: string, args: string[]): [string, string[]] {
  const lib = path.join(layer.layerDir, 'lib');
  return [
    path.join(lib, path.basename(layer.manifest.loader)),
    ['--library-path', lib, path.join(layer.layerDir, 'bin', tool), ...args],
  ];
}
