/**
 * patchelf for the machine doing the build: the one on PATH, else Debian's package for this
 * machine's own suite and architecture, fetched with a private apt and unpacked into the cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LayerBuildError } from './errors.ts';
import { PrivateApt } from './apt.ts';
import { run } from './run.ts';

export async function findPatchelf(
  cache: string,
  mirror: string,
  offline: boolean,
  log: (line: string) => void,
): Promise<string> {
  const onPath = await run('sh', ['-c', 'command -v patchelf'])
    .then((r) => r.stdout.trim())
    .catch(() => '');
  if (onPath) return onPath;

  const unpacked = path.join(cache, 'host-tools');
  const binary = path.join(unpacked, 'usr/bin/patchelf');
  if (existsSync(binary)) return binary;

  const suite = /^VERSION_CODENAME=(\S+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  const hostArch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  if (!suite)
    throw new LayerBuildError(
      'patchelf is not installed and this machine does not say its Debian suite; install patchelf',
    );
  log(`fetching patchelf for this machine (${suite} ${hostArch})`);
  const apt = new PrivateApt({
    root: path.join(cache, `host-${suite}-${hostArch}`),
    mirror,
    suite,
    debianArch: hostArch,
    log,
  });
  await apt.prepare();
  await apt.update(false);
  const debs = await apt.download(['patchelf'], offline);
  for (const deb of debs.filter((d) => path.basename(d).startsWith('patchelf_')))
    await run('dpkg-deb', ['-x', deb, unpacked]);
  if (!existsSync(binary)) throw new LayerBuildError('the patchelf package did not contain usr/bin/patchelf');
  return binary;
}
