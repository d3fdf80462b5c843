/**
 * Builds the dbtools Lambda layer: pg_dump/pg_restore/pg_dumpall/psql, the MariaDB client and
 * MySQL's own client from Debian packages, self-contained (own loader and C library), for x86_64
 * or arm64.
 *
 *   npm run build:layer -- --arch x86_64|arm64 [--suite testing] [--mysql-suite sid]
 *                          [--postgres-major 18] [--mirror URL] [--out DIR] [--cache DIR]
 *                          [--offline] [--refresh]
 *
 * Output: <out>/dbtools-<arch>/dbtools/ (what Lambda unpacks to /opt/dbtools) and
 * <out>/dbtools-<arch>.zip. Both appear only when the build is complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machineDebianMirror, PrivateApt } from './lib/apt.ts';
import { assembleLayer, type LayerManifest } from './lib/assemble.ts';
import { LayerBuildError } from './lib/errors.ts';
import { findPatchelf } from './lib/patchelf.ts';
import { run } from './lib/run.ts';
import { ARCHES, DEFAULT_MYSQL_SUITE, DEFAULT_POSTGRES_MAJOR, DEFAULT_SUITE, packageGroupsFor } from './lib/spec.ts';

const HERE = import.meta.dirname;

export interface BuildOptions {
  arch: string;
  suite?: string;
  /** Where MySQL's client comes from (the default suite has none). */
  mysqlSuite?: string;
  postgresMajor?: number;
  mirror?: string;
  out?: string;
  cache?: string;
  offline?: boolean;
  refresh?: boolean;
  log?: (line: string) => void;
}

export interface BuiltLayer {
  dir: string;
  layerDir: string;
  zip: string;
  manifest: LayerManifest;
  unzippedBytes: number;
  zippedBytes: number;
}

export async function buildLayer(options: BuildOptions): Promise<BuiltLayer> {
  const arch = Object.hasOwn(ARCHES, options.arch) ? ARCHES[options.arch] : undefined;
  if (!arch)
    throw new LayerBuildError(
      `unknown --arch "${options.arch}": use ${Object.keys(ARCHES).join(' or ')} (Lambda's names)`,
    );
  const log = options.log ?? ((line: string) => console.error(`dbtools: ${line}`));
  const suite = options.suite ?? DEFAULT_SUITE;
  const postgresMajor = options.postgresMajor ?? DEFAULT_POSTGRES_MAJOR;
  const mysqlSuite = options.mysqlSuite ?? DEFAULT_MYSQL_SUITE;
  const fallbackSuites = mysqlSuite === suite ? [] : [mysqlSuite];
  const out = path.resolve(options.out ?? path.join(HERE, 'dist'));
  const cache = path.resolve(options.cache ?? path.join(HERE, 'cache'));
  const mirror = options.mirror ?? process.env.STEPVAULT_DEBIAN_MIRROR ?? machineDebianMirror();
  if (!mirror)
    throw new LayerBuildError(
      'no Debian mirror is configured on this machine: pass --mirror with the URL of a Debian archive',
    );

  // A cache of its own per set of suites: lists of another set never mix into this one.
  const apt = new PrivateApt({
    root: path.join(cache, `${[suite, ...fallbackSuites].join('+')}-${arch.debian}`),
    mirror,
    suite,
    fallbackSuites,
    debianArch: arch.debian,
    log,
  });
  await apt.prepare();
  if (!options.offline) await apt.update(options.refresh ?? false);
  const groups = packageGroupsFor(postgresMajor);
  log(`resolving and downloading ${groups.flat().join(', ')} for ${suite} (${mysqlSuite} for MySQL) ${arch.debian}`);
  const debs = await apt.downloadGroups(groups, options.offline ?? false);
  const patchelf = await findPatchelf(cache, mirror, options.offline ?? false, log);

  // Build beside the result under a name nobody mistakes for it, and swap it in when whole.
  await mkdir(out, { recursive: true });
  const token = randomBytes(4).toString('hex');
  const partial = path.join(out, `.dbtools-${arch.lambda}.partial-${token}`);
  const partialZip = path.join(out, `.dbtools-${arch.lambda}.zip.partial-${token}`);
  const workDir = await mkdtemp(path.join(tmpdir(), 'stepvault-layer-'));
  const dir = path.join(out, `dbtools-${arch.lambda}`);
  const zip = path.join(out, `dbtools-${arch.lambda}.zip`);
  try {
    const layerDir = path.join(partial, 'dbtools');
    const manifest = await assembleLayer({
      arch,
      debs,
      postgresMajor,
      suite,
      mysqlSuite,
      patchelf,
      layerDir,
      workDir,
      log,
    });
    // -y keeps links as links; the zip's root holds dbtools/.
    await run('zip', ['-r', '-y', '-q', '-X', partialZip, 'dbtools'], process.env, partial);
    await rm(dir, { recursive: true, force: true });
    await rm(zip, { force: true });
    await rename(partial, dir);
    await rename(partialZip, zip);
    const unzippedBytes = Number((await run('du', ['-sb', path.join(dir, 'dbtools')])).stdout.split(/\s/)[0]);
    const zippedBytes = (await stat(zip)).size;
    log(
      `built ${path.relative(process.cwd(), dir) || dir} (${mb(unzippedBytes)} unzipped) and ${path.basename(zip)} (${mb(zippedBytes)})`,
    );
    return { dir, layerDir: path.join(dir, 'dbtools'), zip, manifest, unzippedBytes, zippedBytes };
  } finally {
    await rm(partial, { recursive: true, force: true });
    await rm(partialZip, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        arch: { type: 'string' },
        suite: { type: 'string' },
        'mysql-suite': { type: 'string' },
        'postgres-major': { type: 'string' },
        mirror: { type: 'string' },
        out: { type: 'string' },
        cache: { type: 'string' },
        offline: { type: 'boolean', default: false },
        refresh: { type: 'boolean', default: false },
      },
    });
    if (!values.arch) throw new LayerBuildError('say which architecture: --arch x86_64 or --arch arm64');
    const built = await buildLayer({
      arch: values.arch,
      ...(values.suite && { suite: values.suite }),
      ...(values['mysql-suite'] && { mysqlSuite: values['mysql-suite'] }),
      ...(values['postgres-major'] && { postgresMajor: Number(values['postgres-major']) }),
      ...(values.mirror && { mirror: values.mirror }),
      ...(values.out && { out: values.out }),
      ...(values.cache && { cache: values.cache }),
      offline: values.offline,
      refresh: values.refresh,
    });
    console.log(
      `${built.zip}\n${Object.entries(built.manifest.packages)
        .map(([p, v]) => `  ${p} ${v}`)
        .join('\n')}`,
    );
  } catch (error) {
    if (error instanceof LayerBuildError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`dbtools: ${(error as Error).message}`);
      process.exit(2);
    }
    throw error;
  }
}
