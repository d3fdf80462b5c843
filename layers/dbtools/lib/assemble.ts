/**
 * Assembles the layer folder from unpacked Debian packages: the chosen binaries, every shared
 * library they need (found by walking DT_NEEDED, so nothing is guessed and nothing extra comes
 * along), the loader and C library of the same suite, the client auth plugins; then patches
 * every file to find its loader and libraries under the layer prefix, and records the package
 * versions and licences of what it took.
 */
import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LayerBuildError } from './errors.ts';
import { neededLibraries, patch } from './elf.ts';
import { run } from './run.ts';
import {
  binariesFor,
  LAYER_PREFIX,
  OUTPUT_BUFFER_LIBRARY,
  pluginFolders,
  type ArchSpec,
  type LayerManifest,
} from './spec.ts';

export interface AssembleOptions {
  arch: ArchSpec;
  debs: string[];
  postgresMajor: number;
  suite: string;
  mysqlSuite: string;
  patchelf: string;
  /** The folder that becomes /opt/dbtools. */
  layerDir: string;
  workDir: string;
  log: (line: string) => void;
}

/** A Debian package unpacked into a folder of its own, so every file is traced to its package. */
export interface Unpacked {
  name: string;
  version: string;
  dir: string;
}

export type { LayerManifest };

export async function assembleLayer(options: AssembleOptions): Promise<LayerManifest> {
  const { arch, layerDir, log } = options;
  const packages = await unpackAll(options.debs, path.join(options.workDir, 'packages'));
  const libraries = indexLibraries(packages, arch);
  const used = new Set<Unpacked>();

  const bin = path.join(layerDir, 'bin');
  const lib = path.join(layerDir, 'lib');
  const folders = pluginFolders(arch);
  await Promise.all(
    [bin, ...folders.map((f) => path.join(layerDir, f.dir)), path.join(layerDir, 'licenses')].map((d) =>
      mkdir(d, { recursive: true }),
    ),
  );

  // 1. The binaries and the plugins, then every library they need, transitively.
  const queue: string[] = [];
  const plugins: string[] = [];
  for (const binary of binariesFor(options.postgresMajor)) {
    const found = findFile(
      packages.filter((p) => p.name === binary.from),
      binary.path,
    );
    if (!found) throw new LayerBuildError(`${binary.path} is not in the downloaded package ${binary.from}`);
    used.add(found.pkg);
    const target = path.join(bin, binary.name);
    await copyFile(found.file, target);
    await chmod(target, 0o755);
    queue.push(target);
  }
  for (const folder of folders) {
    const pkg = packages.find((p) => p.name === folder.from && existsSync(path.join(p.dir, folder.source)));
    if (!pkg)
      throw new LayerBuildError(`no client plugins (${folder.source}) in the downloaded package ${folder.from}`);
    used.add(pkg);
    for (const plugin of readdirSync(path.join(pkg.dir, folder.source)).filter((f) => f.endsWith('.so'))) {
      if (folder.only && !folder.only.includes(plugin)) continue;
      const target = path.join(layerDir, folder.dir, plugin);
      await copyFile(path.join(pkg.dir, folder.source, plugin), target);
      queue.push(target);
      plugins.push(target);
    }
  }

  const buffering = findFile(
    packages.filter((p) => p.name === OUTPUT_BUFFER_LIBRARY.from),
    OUTPUT_BUFFER_LIBRARY.path,
  );
  if (!buffering)
    throw new LayerBuildError(
      `${OUTPUT_BUFFER_LIBRARY.path} is not in the downloaded package ${OUTPUT_BUFFER_LIBRARY.from}`,
    );
  used.add(buffering.pkg);
  const bufferingLibrary = path.join(lib, OUTPUT_BUFFER_LIBRARY.name);
  await copyFile(buffering.file, bufferingLibrary);
  queue.push(bufferingLibrary);

  const copied = new Set<string>();
  for (let i = 0; i < queue.length; i++) {
    for (const soname of await neededLibraries(queue[i]!)) {
      if (copied.has(soname) || soname === arch.loader) continue;
      const source = libraries.get(soname);
      if (!source)
        throw new LayerBuildError(
          `${soname}, needed by ${path.basename(queue[i]!)}, is in none of the downloaded packages`,
        );
      used.add(source.pkg);
      await copyFile(source.file, path.join(lib, soname));
      copied.add(soname);
      queue.push(path.join(lib, soname));
    }
  }
  const loader = libraries.get(arch.loader);
  if (!loader) throw new LayerBuildError(`the loader ${arch.loader} is in none of the downloaded packages`);
  used.add(loader.pkg);
  await copyFile(loader.file, path.join(lib, arch.loader));
  await chmod(path.join(lib, arch.loader), 0o755);

  // 2. Point everything at the layer's own loader and libraries.
  const libraryDir = `${LAYER_PREFIX}/lib`;
  for (const file of queue) {
    const isBinary = path.dirname(file) === bin;
    if (path.basename(file) === 'libc.so.6') continue;
    await patch(options.patchelf, file, {
      rpath: libraryDir,
      ...(isBinary && { interpreter: `${libraryDir}/${arch.loader}` }),
    });
  }
  log(
    `layer holds ${queue.filter((f) => path.dirname(f) === bin).length} binaries, ${copied.size + 2} libraries and ${plugins.length} plugins`,
  );

  // 3. Versions and licences of every package that contributed a file.
  const contributing = [...used].sort((a, b) => a.name.localeCompare(b.name));
  for (const pkg of contributing) {
    const copyright = findCopyright(packages, pkg);
    if (!copyright) throw new LayerBuildError(`no copyright file for ${pkg.name}: its licence cannot be shipped`);
    await copyFile(copyright, path.join(layerDir, 'licenses', `${pkg.name}.copyright`));
  }
  const manifest: LayerManifest = {
    prefix: LAYER_PREFIX,
    arch: arch.lambda,
    suite: options.suite,
    ...(options.mysqlSuite !== options.suite && { mysqlSuite: options.mysqlSuite }),
    postgresMajor: options.postgresMajor,
    loader: `lib/${arch.loader}`,
    libraryDir: 'lib',
    pluginDir: folders[0]!.dir,
    toolPluginDirs: Object.fromEntries(folders.flatMap((f) => (f.tools ?? []).map((tool) => [tool, f.dir]))),
    binaries: binariesFor(options.postgresMajor).map((b) => b.name),
    outputBufferLibrary: `lib/${OUTPUT_BUFFER_LIBRARY.name}`,
    packages: Object.fromEntries(contributing.map((p) => [p.name, p.version])),
  };
  await writeFile(
    path.join(layerDir, 'VERSIONS'),
    [
      `# dbtools layer for ${arch.lambda} (${arch.debian}), from Debian ${options.suite}${options.mysqlSuite === options.suite ? '' : ` (MySQL's client from ${options.mysqlSuite})`}, prefix ${LAYER_PREFIX}`,
      '# package version — every package a file in this layer comes from',
      ...contributing.map((p) => `${p.name} ${p.version}`),
      '',
    ].join('\n'),
  );
  await writeFile(path.join(layerDir, 'layer.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export async function unpackAll(debs: string[], root: string): Promise<Unpacked[]> {
  const unpacked: Unpacked[] = [];
  for (const deb of debs) {
    const { stdout } = await run('dpkg-deb', ['-f', deb, 'Package', 'Version']);
    const name = /^Package: (\S+)/m.exec(stdout)?.[1];
    const version = /^Version: (\S+)/m.exec(stdout)?.[1];
    if (!name || !version) throw new LayerBuildError(`${path.basename(deb)} has no package name or version`);
    const dir = path.join(root, name);
    await mkdir(dir, { recursive: true });
    await run('dpkg-deb', ['-x', deb, dir]);
    unpacked.push({ name, version, dir });
  }
  return unpacked;
}

/** soname → the real file that provides it, across every unpacked package's library folders. */
export function indexLibraries(packages: Unpacked[], arch: ArchSpec): Map<string, { pkg: Unpacked; file: string }> {
  const index = new Map<string, { pkg: Unpacked; file: string }>();
  for (const pkg of packages) {
    for (const folder of [`lib/${arch.triplet}`, `usr/lib/${arch.triplet}`]) {
      const dir = path.join(pkg.dir, folder);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (!/\.so(\.|$)/.test(name) || index.has(name)) continue;
        const file = resolveInPackages(packages, pkg, path.join(dir, name));
        if (file) index.set(name, file);
      }
    }
  }
  return index;
}

function findFile(packages: Unpacked[], relative: string): { pkg: Unpacked; file: string } | undefined {
  for (const pkg of packages) {
    const candidate = path.join(pkg.dir, relative);
    if (existsSync(candidate) || isLink(candidate)) {
      const resolved = resolveInPackages(packages, pkg, candidate);
      if (resolved) return resolved;
    }
  }
  return undefined;
}

/** Follows symbolic links inside the unpacked tree; an absolute link points into any package. */
function resolveInPackages(
  packages: Unpacked[],
  pkg: Unpacked,
  file: string,
  depth = 0,
): { pkg: Unpacked; file: string } | undefined {
  if (depth > 16) return undefined;
  if (!isLink(file)) return existsSync(file) && lstatSync(file).isFile() ? { pkg, file } : undefined;
  const target = readlinkSync(file);
  if (!path.isAbsolute(target)) {
    const next = path.resolve(path.dirname(file), target);
    if (next.startsWith(pkg.dir + path.sep) && (existsSync(next) || isLink(next)))
      return resolveInPackages(packages, pkg, next, depth + 1);
    const relative = path.relative(pkg.dir, next);
    return findFile(
      packages.filter((p) => p !== pkg),
      relative,
    );
  }
  return findFile(packages, target.replace(/^\/+/, ''));
}

export function findCopyright(packages: Unpacked[], pkg: Unpacked): string | undefined {
  const own = resolveInPackages(packages, pkg, path.join(pkg.dir, 'usr/share/doc', pkg.name, 'copyright'));
  if (own) return own.file;
  // Some packages share a documentation folder through a link to another package's.
  const docLink = path.join(pkg.dir, 'usr/share/doc', pkg.name);
  if (isLink(docLink)) {
    const target = path.basename(readlinkSync(docLink));
    return findFile(packages, `usr/share/doc/${target}/copyright`)?.file;
  }
  return undefined;
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}
