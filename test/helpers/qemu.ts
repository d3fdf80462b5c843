/**
 * qemu-aarch64-static from Debian's qemu-user-static for this machine's own suite, fetched once
 * with a private apt (as the layer build fetches patchelf) and unpacked into the image cache, so
 * the arm64 image's binaries can be run here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { machineDebianMirror, PrivateApt } from '../../layers/dbtools/lib/apt.ts';
import { run } from '../../layers/dbtools/lib/run.ts';

const CACHE = path.resolve(import.meta.dirname, '../../image/cache');

export async function qemuAarch64(): Promise<string> {
  const unpacked = path.join(CACHE, 'qemu-user-static');
  const binary = path.join(unpacked, 'usr/bin/qemu-aarch64-static');
  if (existsSync(binary)) return binary;
  const suite = /^VERSION_CODENAME=(\S+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  const mirror = process.env.STEPVAULT_DEBIAN_MIRROR ?? machineDebianMirror();
  if (!suite || !mirror) throw new Error('this machine names no Debian suite or mirror to fetch qemu-user-static from');
  const hostArch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  const apt = new PrivateApt({
    root: path.join(CACHE, `host-${suite}-${hostArch}`),
    mirror,
    suite,
    debianArch: hostArch,
    log: () => undefined,
  });
  await apt.prepare();
  await apt.update(false);
  const debs = await apt.download(['qemu-user-static'], false);
  for (const deb of debs.filter((d) => path.basename(d).startsWith('qemu-user-static_')))
    await run('dpkg-deb', ['-x', deb, unpacked]);
  if (!existsSync(binary)) throw new Error('the qemu-user-static package did not contain usr/bin/qemu-aarch64-static');
  return binary;
}
