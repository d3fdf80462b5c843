/**
 * ELF facts read with binutils' readelf, which reads any architecture: the libraries a file
 * needs, its interpreter, its machine. And the one change made to each file, with patchelf.
 */
import { LayerBuildError } from './errors.ts';
import { run } from './run.ts';

export async function isElf(file: string): Promise<boolean> {
  try {
    await run('readelf', ['-h', file]);
    return true;
  } catch {
    return false;
  }
}

export async function neededLibraries(file: string): Promise<string[]> {
  const { stdout } = await run('readelf', ['-d', '-W', file]);
  return [...stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

export async function interpreter(file: string): Promise<string | undefined> {
  const { stdout } = await run('readelf', ['-l', '-W', file]);
  return /Requesting program interpreter: ([^\]]+)\]/.exec(stdout)?.[1];
}

export async function searchPath(file: string): Promise<{ rpath?: string; runpath?: string }> {
  const { stdout } = await run('readelf', ['-d', '-W', file]);
  const rpath = /\(RPATH\)\s+Library rpath: \[([^\]]*)\]/.exec(stdout)?.[1];
  const runpath = /\(RUNPATH\)\s+Library runpath: \[([^\]]*)\]/.exec(stdout)?.[1];
  return { ...(rpath !== undefined && { rpath }), ...(runpath !== undefined && { runpath }) };
}

export async function machine(file: string): Promise<string> {
  const { stdout } = await run('readelf', ['-h', '-W', file]);
  return /Machine:\s+(.+)/.exec(stdout)?.[1]?.trim() ?? 'unknown';
}

/**
 * Points a file at the layer's own loader and libraries. DT_RPATH (not RUNPATH: --force-rpath)
 * because Lambda sets LD_LIBRARY_PATH, which RUNPATH loses to and RPATH wins over; an RPATH
 * on the executable also covers every library it loads that has no RUNPATH of its own.
 */
export async function patch(
  patchelf: string,
  file: string,
  options: { interpreter?: string; rpath: string },
): Promise<void> {
  const args = [
    ...(options.interpreter ? ['--set-interpreter', options.interpreter] : []),
    '--force-rpath',
    '--set-rpath',
    options.rpath,
    file,
  ];
  try {
    await run(patchelf, args);
  } catch (error) {
    throw new LayerBuildError(`patchelf could not patch ${file}: ${(error as Error).message}`, { cause: error });
  }
}
