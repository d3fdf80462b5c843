/**
 * The Fargate runner's image, proved without a container runtime: the OCI archive is read and
 * checked digest by digest, its layers unpacked by GNU tar into a bare folder, and its entrypoint
 * run there in a chroot as the image's own unprivileged user with the image's environment only.
 * It dumps the local PostgreSQL and MariaDB with the image's tools, and the dumps restore with
 * identical contents. The arm64 image is AArch64 all the way down, and runs under qemu.
 */
import { execFile } from 'node:child_process';
import { cp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildImage, type BuiltImage } from '../image/build.ts';
import { ENTRYPOINT_FILE, IMAGE_USER, NODE_PATH } from '../image/lib/spec.ts';
import { machine } from '../layers/dbtools/lib/elf.ts';
import { loadConfig } from '../src/config/load.ts';
import type { PlanResult, StreamedDump } from '../src/contracts.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { plan as planStep } from '../src/steps/plan.ts';
import { TASK_EXIT_CODES } from '../src/task/contract.ts';
import { layerCommand, layerFor } from './helpers/layer.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariaInventory,
  mariaTableDigests,
  loadRichMariadb,
} from './helpers/mariadb.ts';
import {
  addDevices,
  imageScratch,
  removeScratch,
  runInImage,
  type UnpackedImage,
  unpackImage,
} from './helpers/oci-image.ts';
import {
  createDatabase,
  dropDatabase,
  objectInventory,
  PG,
  tableDigests,
  uniqueName,
  loadRichPostgres,
} from './helpers/postgres.ts';
import { qemuAarch64 } from './helpers/qemu.ts';

const exec = promisify(execFile);
const quiet = () => undefined;
const cleanups: (() => Promise<unknown>)[] = [];
const databases = { pg: uniqueName('sv_image_pg'), maria: uniqueName('sv_image_maria') };

/** The config baked into the test image: the two local servers, one that is down, a folder destination. */
const IMAGE_CONFIG = {
  defaults: { staging: '/tmp/staging', destinations: ['local'] },
  destinations: { local: { type: 'filesystem', path: `${IMAGE_USER.home}/backups` } },
  targets: {
    pg: { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: databases.pg },
    maria: { engine: 'mariadb', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, database: databases.maria },
    down: { engine: 'postgres', host: '127.0.0.1', port: 1, user: 'postgres', database: 'nothing' },
  },
};

let built: BuiltImage;
let configFile: string;
let image: UnpackedImage;

beforeAll(async () => {
  const scratch = await imageScratch();
  cleanups.push(() => removeScratch(scratch));
  configFile = path.join(scratch, 'stepvault.config.yml');
  await writeFile(configFile, stringify(IMAGE_CONFIG));
  const layer = await layerFor('x86_64');
  built = await buildImage({
    arch: 'x86_64',
    layerDir: layer.layerDir,
    config: configFile,
    out: path.join(scratch, 'out'),
    log: quiet,
  });
  image = await unpackImage(built.archive, path.join(scratch, 'image'));
  await addDevices(image.rootfs);
}, 300_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs one step through the image's entrypoint; its result is on the "task finished" log line. */
async function runStep(step: string, input: unknown) {
  const outcome = await runInImage(image, image.config.config.Entrypoint, {
    STEPVAULT_STEP: step,
    STEPVAULT_STEP_INPUT: JSON.stringify(input),
  });
  const lines = outcome.stdout.map((l) => JSON.parse(l) as { message: string; result?: unknown });
  return { ...outcome, result: lines.find((l) => l.message === 'task finished')?.result };
}

/** Plans in this process (Plan runs on Lambda), then streams the dump through the image's entrypoint. */
async function planOf(target: string): Promise<PlanResult> {
  const runtime = createRuntime(loadConfig(configFile), { logger: () => createJsonLogger({ write: () => undefined }) });
  const execution = { id: `arn:local:execution:${target}`, name: target, startTime: new Date().toISOString() };
  return planStep({ request: { target }, execution }, runtime);
}

async function planAndDump(target: string): Promise<{ plan: PlanResult; dump: StreamedDump; file: string }> {
  const plan = await planOf(target);
  const dumped = await runStep('streamDump', plan);
  expect(dumped.code, dumped.stderr.join('\n')).toBe(0);
  const dump = dumped.result as StreamedDump;
  return { plan, dump, file: path.join(image.rootfs, IMAGE_USER.home, 'backups', dump.key) };
}

describe('the x86_64 image archive', () => {
  it('is an OCI layout whose index, manifest, config and layers match their digests', () => {
    expect(image.index.schemaVersion).toBe(2);
    expect(image.index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(image.index.manifests[0]!.platform).toEqual({ architecture: 'amd64', os: 'linux' });
    expect(image.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(image.manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(image.manifest.layers.map((l) => l.mediaType)).toEqual(
      Array(3).fill('application/vnd.oci.image.layer.v1.tar+gzip'),
    );
    expect(built.layout.manifest.digest).toBe(image.index.manifests[0]!.digest);
  });

  it('runs node on the bundled entrypoint as an unprivileged user, with the config in the image', async () => {
    expect(image.config.architecture).toBe('amd64');
    expect(image.config.os).toBe('linux');
    expect(image.config.config.Entrypoint).toEqual([NODE_PATH, ENTRYPOINT_FILE]);
    expect(image.config.config.WorkingDir).toBe('/app');
    expect(image.config.config.User).toBe(`${IMAGE_USER.uid}:${IMAGE_USER.gid}`);
    expect(image.config.config.Env).toEqual(expect.arrayContaining(['STEPVAULT_CONFIG=/app/stepvault.config.yml']));
    const passwd = await readFile(path.join(image.rootfs, 'etc/passwd'), 'utf8');
    expect(passwd).toContain(`${IMAGE_USER.name}:x:${IMAGE_USER.uid}:${IMAGE_USER.gid}:`);
    expect((await stat(path.join(image.rootfs, IMAGE_USER.home))).uid).toBe(IMAGE_USER.uid);
    expect((await stat(path.join(image.rootfs, 'opt/dbtools/bin/pg_dump'))).uid).toBe(0);
    const node = await runInImage(image, [NODE_PATH, '--version']);
    expect(node.stdout).toEqual([`v${built.nodeVersion}`]);
    expect(built.nodeVersion).toMatch(/^24\./);
  });

  it('holds the CA bundle, the licences of what it redistributes, and stays small', async () => {
    const bundle = await readFile(path.join(image.rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8');
    expect(bundle.match(/BEGIN CERTIFICATE/g)!.length).toBeGreaterThan(100);
    expect(await readdir(path.join(image.rootfs, 'usr/share/doc'))).toEqual(
      expect.arrayContaining(['libc6', 'libstdc++6', 'libgcc-s1', 'ca-certificates']),
    );
    await expect(stat(path.join(image.rootfs, 'usr/local/share/doc/node/LICENSE'))).resolves.toBeDefined();
    await expect(stat(path.join(image.rootfs, 'opt/dbtools/licenses'))).resolves.toBeDefined();
    // No shell, no package manager: the container runs one program.
    await expect(stat(path.join(image.rootfs, 'bin/sh'))).rejects.toThrow(/ENOENT/);
    expect(built.bytes).toBeLessThan(100 * 1024 * 1024);
  });
});

describe('the entrypoint in a bare chroot of the image', () => {
  it('PostgreSQL: dumps with the image’s pg_dump 18, and the dump restores with identical contents', async () => {
    const restored = uniqueName('sv_image_pg_restored');
    cleanups.push(
      () => dropDatabase(databases.pg),
      () => dropDatabase(restored),
    );
    await createDatabase(databases.pg);
    await loadRichPostgres(databases.pg);
    const { dump, file: dumpFile } = await planAndDump('pg');
    expect(dump.tool).toEqual({ name: 'pg_dump', version: expect.stringMatching(/^18\./) });

    await createDatabase(restored);
    const layer = await layerFor('x86_64');
    const [restoreFile, restoreArgs] = layerCommand(layer, 'pg_restore', ['-f', '-', dumpFile]);
    const [psqlFile, psqlArgs] = layerCommand(layer, 'psql', [
      ...['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', restored],
    ]);
    // PostgreSQL 15 does not know the SET transaction_timeout every pg_dump 18 archive starts with.
    await exec(
      'sh',
      ['-c', '"$0" "$@" | sed "/^SET transaction_timeout/d" | "$PSQL" $PSQL_ARGS', restoreFile, ...restoreArgs],
      { env: { ...process.env, PSQL: psqlFile, PSQL_ARGS: psqlArgs.join(' ') } },
    );
    expect(await tableDigests(restored)).toEqual(await tableDigests(databases.pg));
    expect(await objectInventory(restored)).toEqual(await objectInventory(databases.pg));
  });

  it('MariaDB: dumps with the image’s mariadb-dump, and the dump restores with identical contents', async () => {
    const restored = uniqueName('sv_image_maria_restored');
    cleanups.push(
      () => dropMariaDatabase(databases.maria),
      () => dropMariaDatabase(restored),
    );
    await createMariaDatabase(databases.maria);
    await loadRichMariadb(databases.maria);
    const { dump, file: dumpFile } = await planAndDump('maria');
    expect(dump.tool.version).toMatch(/^11\.\d+\.\d+-MariaDB/);

    await createMariaDatabase(restored);
    const layer = await layerFor('x86_64');
    const [file, args] = layerCommand(layer, 'mariadb', [
      '--no-defaults',
      `--plugin-dir=${path.join(layer.layerDir, 'lib/plugin')}`,
      '--skip-ssl',
      '--default-character-set=utf8mb4',
      ...['-h', MARIADB.host, '-u', MARIADB.user, '--protocol=TCP', restored],
    ]);
    await exec('sh', ['-c', 'zstd -dc "$0" | "$@"', dumpFile, file, ...args]);
    expect(await mariaTableDigests(restored)).toEqual(await mariaTableDigests(databases.maria));
    expect(await mariaInventory(restored)).toEqual(await mariaInventory(databases.maria));
  });

  it('exits with the error’s code and names it on its last stderr line when the database is down', async () => {
    const dumped = await runStep('streamDump', await planOf('down'));
    expect(dumped.code).toBe(TASK_EXIT_CODES.ConnectionError);
    expect(JSON.parse(dumped.stderr.at(-1)!)).toEqual({
      errorType: 'ConnectionError',
      errorMessage: expect.stringContaining('127.0.0.1:1'),
    });
  });

  it('refuses a step it does not run, and input that is not JSON, with the exit code of a ConfigError', async () => {
    const unknown = await runInImage(image, image.config.config.Entrypoint, { STEPVAULT_STEP: 'upload' });
    expect(unknown.code).toBe(TASK_EXIT_CODES.ConfigError);
    expect(JSON.parse(unknown.stderr.at(-1)!)).toEqual({
      errorType: 'ConfigError',
      errorMessage: 'STEPVAULT_STEP is "upload": a task runs one of streamDump',
    });
    const garbled = await runInImage(image, image.config.config.Entrypoint, {
      STEPVAULT_STEP: 'streamDump',
      STEPVAULT_STEP_INPUT: '{plan',
    });
    expect(garbled.code).toBe(TASK_EXIT_CODES.ConfigError);
    expect(JSON.parse(garbled.stderr.at(-1)!).errorMessage).toMatch(/^STEPVAULT_STEP_INPUT is not JSON \(/);
  });
});

describe('the arm64 image', () => {
  let arm: UnpackedImage;
  let armBuilt: BuiltImage;

  beforeAll(async () => {
    const scratch = await imageScratch();
    cleanups.push(() => removeScratch(scratch));
    const layer = await layerFor('arm64');
    armBuilt = await buildImage({
      arch: 'arm64',
      layerDir: layer.layerDir,
      out: path.join(scratch, 'out'),
      log: quiet,
    });
    arm = await unpackImage(armBuilt.archive, path.join(scratch, 'image'));
    await addDevices(arm.rootfs);
  }, 300_000);

  it('is arm64, and its node, loader, C++ library and dump tools are AArch64 ELF', async () => {
    expect(arm.config.architecture).toBe('arm64');
    expect(arm.index.manifests[0]!.platform).toEqual({ architecture: 'arm64', os: 'linux' });
    for (const file of [
      NODE_PATH,
      'usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1',
      'usr/lib/aarch64-linux-gnu/libstdc++.so.6',
      'opt/dbtools/bin/pg_dump',
      'opt/dbtools/bin/mariadb-dump',
    ])
      expect(await machine(path.join(arm.rootfs, file)), file).toBe('AArch64');
  });

  it('runs node and pg_dump under qemu-user in a chroot of the image', async () => {
    const qemu = await qemuAarch64();
    await cp(qemu, path.join(arm.rootfs, 'qemu-aarch64-static'));
    cleanups.push(() => rm(path.join(arm.rootfs, 'qemu-aarch64-static'), { force: true }));
    const node = await runInImage(arm, [NODE_PATH, '-p', 'process.arch + " " + process.version'], {}, [
      '/qemu-aarch64-static',
    ]);
    expect(node.stdout, node.stderr.join('\n')).toEqual([`arm64 v${armBuilt.nodeVersion}`]);
    const pgDump = await runInImage(arm, ['/opt/dbtools/bin/pg_dump', '--version'], {}, ['/qemu-aarch64-static']);
    expect(pgDump.stdout.join('\n'), pgDump.stderr.join('\n')).toMatch(/pg_dump \(PostgreSQL\) 18\.\d+/);
  });
});
