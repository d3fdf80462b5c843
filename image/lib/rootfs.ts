/**
 * The folders that become the image's three layers, cheapest to change last:
 *
 *   base     Node at /usr/local/bin/node with exactly the C/C++ libraries it needs (found by
 *            walking DT_NEEDED, as the dbtools layer does), the loader where Node asks for it,
 *            the CA bundle, /etc/passwd with the unprivileged user, /tmp
 *   dbtools  the built dbtools layer at /opt/dbtools, unchanged (it brings its own loader and libc)
 *   app      the bundled task entrypoint and the config beside it
 *
 * There is no shell and no package manager: the container runs one program.
 */
import { chmod, copyFile, cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findCopyright, indexLibraries, type Unpacked } from '../../layers/dbtools/lib/assemble.ts';
import { interpreter, neededLibraries } from '../../layers/dbtools/lib/elf.ts';
import { LAYER_PREFIX, type ArchSpec } from '../../layers/dbtools/lib/spec.ts';
import { ImageBuildError } from './errors.ts';
import { CA_BUNDLE, IMAGE_USER, NODE_PATH } from './spec.ts';

export async function assembleBase(options: {
  root: string;
  arch: ArchSpec;
  packages: Unpacked[];
  nodeDir: string;
}): Promise<{ libraries: string[] }> {
  const { root, arch, packages } = options;
  const node = path.join(root, NODE_PATH);
  await mkdir(path.dirname(node), { recursive: true });
  await copyFile(path.join(options.nodeDir, 'bin', 'node'), node);
  await chmod(node, 0o755);
  await mkdir(path.join(root, 'usr/local/share/doc/node'), { recursive: true });
  await copyFile(path.join(options.nodeDir, 'LICENSE'), path.join(root, 'usr/local/share/doc/node/LICENSE'));

  // Debian's layout, merged /usr: the loader searches /lib/<triplet> and /usr/lib/<triplet>.
  const libDir = path.join(root, 'usr/lib', arch.triplet);
  await mkdir(libDir, { recursive: true });
  await symlink('usr/lib', path.join(root, 'lib'));
  const index = indexLibraries(packages, arch);
  const copied: string[] = [];
  const queue = [node];
  const used = new Set<Unpacked>();
  for (let i = 0; i < queue.length; i++) {
    for (const soname of await neededLibraries(queue[i]!)) {
      if (copied.includes(soname) || soname === arch.loader) continue;
      const source = index.get(soname);
      if (!source) throw new ImageBuildError(`${soname}, needed by ${path.basename(queue[i]!)}, is in no base package`);
      used.add(source.pkg);
      await copyFile(source.file, path.join(libDir, soname));
      copied.push(soname);
      queue.push(path.join(libDir, soname));
    }
  }
  const loader = index.get(arch.loader);
  if (!loader) throw new ImageBuildError(`the loader ${arch.loader} is in no base package`);
  used.add(loader.pkg);
  await copyFile(loader.file, path.join(libDir, arch.loader));
  await chmod(path.join(libDir, arch.loader), 0o755);
  // Node asks for the loader at the platform's standard path (/lib64/… on x86_64, /lib/… on arm64).
  const wanted = await interpreter(node);
  if (!wanted) throw new ImageBuildError('the Node binary names no program interpreter');
  const merged = wanted.replace(/^\/lib(64)?\//, '/usr/lib$1/');
  if (wanted.startsWith('/lib64/')) await symlink('usr/lib64', path.join(root, 'lib64'));
  const linkAt = path.join(root, merged);
  if (path.resolve(linkAt) !== path.join(libDir, arch.loader)) {
    await mkdir(path.dirname(linkAt), { recursive: true });
    await symlink(path.relative(path.dirname(linkAt), path.join(libDir, arch.loader)), linkAt);
  }

  // The CA bundle Debian's update-ca-certificates would write, and OpenSSL's default paths to it.
  const caPackage = packages.find((p) => p.name === 'ca-certificates');
  if (!caPackage) throw new ImageBuildError('the ca-certificates package was not downloaded');
  const caDir = path.join(caPackage.dir, 'usr/share/ca-certificates/mozilla');
  const certificates = (await readdir(caDir)).filter((f) => f.endsWith('.crt')).sort();
  const bundle = await Promise.all(certificates.map((f) => readFile(path.join(caDir, f), 'utf8')));
  await mkdir(path.join(root, path.dirname(CA_BUNDLE)), { recursive: true });
  await writeFile(path.join(root, CA_BUNDLE), bundle.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join(''));
  await mkdir(path.join(root, 'usr/lib/ssl'), { recursive: true });
  await symlink(CA_BUNDLE, path.join(root, 'usr/lib/ssl/cert.pem'));
  await symlink(path.dirname(CA_BUNDLE), path.join(root, 'usr/lib/ssl/certs'));
  used.add(caPackage);

  const { name, uid, gid, home } = IMAGE_USER;
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await writeFile(
    path.join(root, 'etc/passwd'),
    `root:x:0:0:root:/root:/usr/sbin/nologin\n${name}:x:${uid}:${gid}:stepvault:${home}:/usr/sbin/nologin\n`,
  );
  await writeFile(path.join(root, 'etc/group'), `root:x:0:\n${name}:x:${gid}:\n`);
  await writeFile(path.join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  await mkdir(path.join(root, home.slice(1)), { recursive: true });
  await mkdir(path.join(root, 'tmp'));
  await chmod(path.join(root, 'tmp'), 0o1777);

  // Licences of what the base layer redistributes, where Debian puts them.
  for (const pkg of used) {
    const copyright = findCopyright(packages, pkg);
    if (!copyright) throw new ImageBuildError(`no copyright file for ${pkg.name}: its licence cannot be shipped`);
    const target = path.join(root, 'usr/share/doc', pkg.name);
    await mkdir(target, { recursive: true });
    await copyFile(copyright, path.join(target, 'copyright'));
  }
  return { libraries: [...copied, arch.loader] };
}

export async function assembleDbtools(root: string, layerDir: string): Promise<void> {
  await mkdir(path.join(root, path.dirname(LAYER_PREFIX)), { recursive: true });
  await cp(layerDir, path.join(root, LAYER_PREFIX), { recursive: true, verbatimSymlinks: true });
}

/** Everything the image's user owns: its home. The rest is root's and read-only to it. */
export function ownership(name: string): { uid: number; gid: number } {
  const home = IMAGE_USER.home.slice(1);
  return name === home || name.startsWith(`${home}/`)
    ? { uid: IMAGE_USER.uid, gid: IMAGE_USER.gid }
    : { uid: 0, gid: 0 };
}
