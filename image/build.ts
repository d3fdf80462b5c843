/**
 * Builds the image the Fargate runner starts: an OCI image archive, written without Docker.
 *
 *   npm run build:image -- --arch x86_64|arm64 [--config stepvault.config.yml] [--out dist/image]
 *                          [--offline] [--layer DIR]
 *
 * Three layers: Node and the C/C++ libraries it needs (Debian's, from the same suite as the
 * dbtools layer), the dbtools layer at /opt/dbtools, and the bundled task entrypoint with the
 * config. Output: <out>/stepvault-<arch>.oci.tar, which appears only when the build is complete.
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { buildLayer } from '../layers/dbtools/build.ts';
import { machineDebianMirror, PrivateApt } from '../layers/dbtools/lib/apt.ts';
import { unpackAll } from '../layers/dbtools/lib/assemble.ts';
import { LayerBuildError } from '../layers/dbtools/lib/errors.ts';
import { ARCHES, DEFAULT_SUITE, type LayerManifest } from '../layers/dbtools/lib/spec.ts';
import { ImageBuildError } from './lib/errors.ts';
import { nodeBinary } from './lib/node-binary.ts';
import { packArchive, writeLayout, type WrittenLayout } from './lib/oci.ts';
import { assembleBase, assembleDbtools, ownership } from './lib/rootfs.ts';
import {
  APP_DIR,
  BASE_PACKAGES,
  ENTRYPOINT_FILE,
  IMAGE_ARCHES,
  IMAGE_CONFIG_FILE,
  IMAGE_USER,
  NODE_PATH,
  type ImageArch,
} from './lib/spec.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAYER_CACHE = path.join(ROOT, 'layers/dbtools/cache');

export interface ImageBuildOptions {
  arch: string;
  /** The config baked in at /app/stepvault.config.yml; without one the task needs $STEPVAULT_CONFIG elsewhere. */
  config?: string;
  out?: string;
  /** A dbtools layer already built for this architecture (its folder that becomes /opt/dbtools). */
  layerDir?: string;
  nodeVersion?: string;
  offline?: boolean;
  log?: (line: string) => void;
}

export interface BuiltImage {
  archive: string;
  bytes: number;
  arch: ImageArch;
  layout: WrittenLayout;
  nodeVersion: string;
  dbtools: LayerManifest['packages'];
}

export async function buildImage(options: ImageBuildOptions): Promise<BuiltImage> {
  if (!Object.hasOwn(IMAGE_ARCHES, options.arch))
    throw new ImageBuildError(`unknown --arch "${options.arch}": use ${Object.keys(IMAGE_ARCHES).join(' or ')}`);
  const arch = options.arch as ImageArch;
  const names = IMAGE_ARCHES[arch];
  const debianArch = ARCHES[names.layer]!;
  const log = options.log ?? ((line: string) => console.error(`image: ${line}`));
  const offline = options.offline ?? false;
  const out = path.resolve(options.out ?? path.join(ROOT, 'dist/image'));
  if (options.config && !existsSync(options.config))
    throw new ImageBuildError(`no config at ${options.config}: name the config the task should run with`);

  const layerDir =
    options.layerDir ??
    (await buildLayer({ arch: names.layer, offline, log: (line) => log(`dbtools: ${line}`) })).layerDir;
  const dbtools = JSON.parse(await readFile(path.join(layerDir, 'layer.json'), 'utf8')) as LayerManifest;
  if (dbtools.arch !== names.layer)
    throw new ImageBuildError(`the dbtools layer at ${layerDir} is built for ${dbtools.arch}, not ${names.layer}`);

  const mirror = process.env.STEPVAULT_DEBIAN_MIRROR ?? machineDebianMirror();
  if (!mirror) throw new ImageBuildError('no Debian mirror is configured on this machine: set STEPVAULT_DEBIAN_MIRROR');
  const apt = new PrivateApt({
    root: path.join(LAYER_CACHE, `${DEFAULT_SUITE}-${debianArch.debian}`),
    mirror,
    suite: DEFAULT_SUITE,
    debianArch: debianArch.debian,
    log,
  });
  await apt.prepare();
  if (!offline) await apt.update(false);
  const debs = await apt.download([...BASE_PACKAGES], offline);
  const nodeVersion = options.nodeVersion ?? process.versions.node;
  const node = await nodeBinary({
    npmArch: names.npm,
    version: nodeVersion,
    cache: path.join(ROOT, 'image/cache'),
    offline,
    log,
  });

  await mkdir(out, { recursive: true });
  const work = await mkdtemp(path.join(tmpdir(), 'stepvault-image-'));
  const archive = path.join(out, `stepvault-${arch}.oci.tar`);
  const partial = path.join(out, `.stepvault-${arch}.oci.tar.partial-${randomBytes(4).toString('hex')}`);
  try {
    const packages = await unpackAll(debs, path.join(work, 'packages'));
    const roots = { base: path.join(work, 'base'), dbtools: path.join(work, 'dbtools'), app: path.join(work, 'app') };
    const base = await assembleBase({ root: roots.base, arch: debianArch, packages, nodeDir: node.dir });
    await assembleDbtools(roots.dbtools, layerDir);
    await bundleEntrypoint(path.join(roots.app, ENTRYPOINT_FILE));
    if (options.config) await copyFile(options.config, path.join(roots.app, IMAGE_CONFIG_FILE));
    log(`base layer: node ${nodeVersion} and ${base.libraries.join(', ')}`);

    const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
    const layout = await writeLayout(
      path.join(work, 'layout'),
      [
        {
          comment: `node ${nodeVersion}, its libraries from Debian ${DEFAULT_SUITE}, CA certificates`,
          root: roots.base,
          ownership,
        },
        { comment: `dbtools layer (${Object.entries(dbtools.packages).length} Debian packages)`, root: roots.dbtools },
        { comment: 'stepvault task entrypoint and config', root: roots.app },
      ],
      {
        architecture: names.oci,
        entrypoint: [NODE_PATH, ENTRYPOINT_FILE],
        env: {
          PATH: '/usr/local/bin:/opt/dbtools/bin:/usr/bin:/bin',
          HOME: IMAGE_USER.home,
          STEPVAULT_CONFIG: IMAGE_CONFIG_FILE,
          NODE_OPTIONS: '--enable-source-maps',
        },
        workingDir: APP_DIR,
        user: `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
        labels: {
          'org.opencontainers.image.title': 'stepvault task',
          'org.opencontainers.image.description': 'Runs one stepvault step as an ECS task (the Fargate runner)',
        },
        tag: 'latest',
        epoch,
      },
    );
    await packArchive(path.join(work, 'layout'), partial, epoch);
    await rename(partial, archive);
    const bytes = (await stat(archive)).size;
    log(`built ${path.relative(process.cwd(), archive) || archive} (${(bytes / 1024 / 1024).toFixed(1)} MB)`);
    return { archive, bytes, arch, layout, nodeVersion, dbtools: dbtools.packages };
  } finally {
    await rm(partial, { force: true });
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * The task entrypoint as an ES module, bundled with the settings the Lambda functions get: the
 * entry file, with the chunks its dynamic import()s load in chunks/ beside it.
 */
async function bundleEntrypoint(entryFile: string): Promise<void> {
  const { outputFileExtension, ...bundling } = createRequire(import.meta.url)(
    '../scripts/serverless/esbuild.cjs',
  ) as BuildOptions & { outputFileExtension: string };
  await build({
    ...bundling,
    entryPoints: [path.join(ROOT, 'src/task/entrypoint.ts')],
    outdir: path.dirname(entryFile),
    entryNames: path.basename(entryFile, outputFileExtension),
    outExtension: { '.js': outputFileExtension },
    logLevel: 'warning',
  });
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        arch: { type: 'string' },
        config: { type: 'string' },
        out: { type: 'string' },
        layer: { type: 'string' },
        'node-version': { type: 'string' },
        offline: { type: 'boolean', default: false },
      },
    });
    if (!values.arch) throw new ImageBuildError('say which architecture: --arch x86_64 or --arch arm64');
    const config = values.config ?? process.env.STEPVAULT_CONFIG ?? path.join(ROOT, 'stepvault.config.yml');
    const built = await buildImage({
      arch: values.arch,
      ...(existsSync(config) || values.config ? { config } : {}),
      ...(values.out && { out: values.out }),
      ...(values.layer && { layerDir: path.resolve(values.layer) }),
      ...(values['node-version'] && { nodeVersion: values['node-version'] }),
      offline: values.offline,
    });
    console.log(`${built.archive} ${built.bytes} bytes (${(built.bytes / 1024 / 1024).toFixed(1)} MB)`);
  } catch (error) {
    if (
      error instanceof ImageBuildError ||
      error instanceof LayerBuildError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      console.error(`image: ${(error as Error).message}`);
      process.exit(2);
    }
    throw error;
  }
}
