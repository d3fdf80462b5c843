/**
 * The dbtools layer, proved: its binaries run in a chroot that holds nothing but the layer (as
 * on Lambda, where the system's libraries are not Debian's), they back up and restore real
 * databases, its pg_dump 18 dumps a PostgreSQL 18 server, and the arm64 build is aarch64 all
 * the way down. And the build itself: its cache, and what it says when it cannot build.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLayer, type BuiltLayer } from '../layers/dbtools/build.ts';
import { interpreter, machine } from '../layers/dbtools/lib/elf.ts';
import { startEmbeddedPostgres, type RunningPostgres } from '../scripts/lib/embedded-postgres.ts';
import { layerCommand, layerFor } from './helpers/layer.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariadb,
  mariaInventory,
  mariaTableDigests,
  loadRichMariadb,
} from './helpers/mariadb.ts';
import {
  createDatabase,
  dropDatabase,
  objectInventory,
  PG,
  tableDigests,
  uniqueName,
  loadRichPostgres,
} from './helpers/postgres.ts';
import { configFor, createWorkspace, storedBackup } from './helpers/workspace.ts';
import { getTarget, loadConfig } from '../src/config/load.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { restore } from '../src/restore/restore.ts';
import { outputBufferEnvironment } from '../src/tools/output-buffer.ts';
import { resolveTool } from '../src/tools/resolver.ts';
import { toolEnvironment } from '../src/tools/environment.ts';

const run = promisify(execFile);
const CHROOT = '/usr/sbin/chroot';
const BINARIES = ['pg_dump', 'pg_restore', 'pg_dumpall', 'psql', 'mariadb-dump', 'mariadb', 'mysqldump', 'mysql'];
// MySQL's names are MySQL's own tools now, not links to MariaDB's.
const VERSION_LINE: Record<string, RegExp> = {
  pg_dump: /\(PostgreSQL\) 18\.\d+/,
  pg_restore: /\(PostgreSQL\) 18\.\d+/,
  pg_dumpall: /\(PostgreSQL\) 18\.\d+/,
  psql: /\(PostgreSQL\) 18\.\d+/,
  'mariadb-dump': /from 11\.\d+\.\d+-MariaDB/,
  mariadb: /from 11\.\d+\.\d+-MariaDB/,
  mysqldump: /^mysqldump {2}Ver 9\.\d+\.\d+/,
  mysql: /mysql {2}Ver 9\.\d+\.\d+/,
};
let layer: BuiltLayer;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  layer = await layerFor('x86_64');
});

afterAll(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function scratch(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the x86_64 layer', () => {
  it('holds the clients, their libraries, the loader, the auth plugins, VERSIONS and licences', async () => {
    expect(layer.manifest.packages['postgresql-client-18']).toMatch(/^18\./);
    expect(layer.manifest.packages['mariadb-client']).toMatch(/11\.\d+/);
    expect(layer.manifest.packages['mysql-client-core']).toMatch(/^9\./);
    expect(layer.manifest.toolPluginDirs).toEqual({ mysqldump: 'lib/mysql-plugin', mysql: 'lib/mysql-plugin' });
    expect(await readdir(path.join(layer.layerDir, 'lib', 'mysql-plugin'))).toEqual(['mysql_native_password.so']);
    expect(layer.manifest.packages.libc6).toBeDefined();
    // coreutils gives the stdio buffer library and nothing else.
    expect(layer.manifest.outputBufferLibrary).toBe('lib/libstdbuf.so');
    expect(layer.manifest.packages.coreutils).toBeDefined();
    expect(await readdir(path.join(layer.layerDir, 'bin'))).toEqual(expect.not.arrayContaining(['stdbuf', 'ls']));
    const versions = await readFile(path.join(layer.layerDir, 'VERSIONS'), 'utf8');
    for (const [pkg, version] of Object.entries(layer.manifest.packages))
      expect(versions).toContain(`${pkg} ${version}\n`);
    const licences = await readdir(path.join(layer.layerDir, 'licenses'));
    expect(licences.sort()).toEqual(
      Object.keys(layer.manifest.packages)
        .map((p) => `${p}.copyright`)
        .sort(),
    );
    expect(await readdir(path.join(layer.layerDir, 'lib', 'plugin'))).toEqual(
      expect.arrayContaining(['caching_sha2_password.so', 'client_ed25519.so']),
    );
    // Lambda allows 250 MB unzipped for a function and all its layers together.
    expect(layer.unzippedBytes).toBeLessThan(100 * 1024 * 1024);
  });

  it('zips with dbtools/ at the root, so Lambda unpacks it to /opt/dbtools', async () => {
    const { stdout } = await run('unzip', ['-Z1', layer.zip]);
    const entries = stdout.split('\n').filter(Boolean);
    expect(entries.every((e) => e.startsWith('dbtools/'))).toBe(true);
    expect(entries).toEqual(
      expect.arrayContaining([
        'dbtools/bin/pg_dump',
        'dbtools/bin/mysqldump',
        'dbtools/VERSIONS',
        'dbtools/layer.json',
      ]),
    );
  });

  it('points every binary at the loader under /opt/dbtools', async () => {
    for (const binary of BINARIES) {
      expect(await interpreter(path.join(layer.layerDir, 'bin', binary))).toBe('/opt/dbtools/lib/ld-linux-x86-64.so.2');
    }
  });

  it('runs every binary in a chroot that holds only the layer, even with a foreign LD_LIBRARY_PATH', async () => {
    const root = await scratch('stepvault-chroot-');
    await cp(layer.layerDir, path.join(root, 'opt/dbtools'), { recursive: true, verbatimSymlinks: true });
    await mkdir(path.join(root, 'tmp'));
    await mkdir(path.join(root, 'dev'));
    await mkdir(path.join(root, 'etc'));
    await run('mknod', ['-m', '666', path.join(root, 'dev/null'), 'c', '1', '3']);
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    // What Lambda's runtime puts first on LD_LIBRARY_PATH, filled with another system's C library:
    // the layer's DT_RPATH must win, or the loader would pair with the wrong libc and fail.
    await mkdir(path.join(root, 'var/lang/lib'), { recursive: true });
    await cp('/lib/x86_64-linux-gnu/libc.so.6', path.join(root, 'var/lang/lib/libc.so.6'));
    for (const binary of BINARIES) {
      const { stdout } = await run(CHROOT, [root, `/opt/dbtools/bin/${binary}`, '--version'], {
        env: { LD_LIBRARY_PATH: '/var/lang/lib:/lib64:/usr/lib64', PATH: '/opt/dbtools/bin' },
      });
      expect(stdout, binary).toMatch(VERSION_LINE[binary]!);
    }
    // The dump tools run with the layer's libstdbuf preloaded: it must load against the layer's C
    // library too (the loader says "cannot be preloaded" and goes on without it otherwise). The
    // chroot command itself gets LD_PRELOAD as well and, outside the chroot, says so once.
    for (const binary of ['mariadb-dump', 'mysqldump']) {
      const { stdout, stderr } = await run(CHROOT, [root, `/opt/dbtools/bin/${binary}`, '--version'], {
        env: {
          LD_LIBRARY_PATH: '/var/lang/lib:/lib64:/usr/lib64',
          PATH: '/opt/dbtools/bin',
          ...outputBufferEnvironment({ outputBufferLibrary: '/opt/dbtools/lib/libstdbuf.so' }),
        },
      });
      expect(stdout, binary).toMatch(VERSION_LINE[binary]!);
      expect(stderr.match(/cannot be preloaded/g), binary).toHaveLength(1);
      expect(stderr, binary).not.toMatch(/not found|error while loading/i);
    }
  });
});

describe('backing up with the layer’s tools (STEPVAULT_TOOLS_DIR)', () => {
  it('PostgreSQL: dumps with pg_dump 18 and restores with its pg_restore, contents identical', async () => {
    const source = uniqueName('sv_layer_pg');
    const restored = uniqueName('sv_layer_pg_restored');
    cleanups.push(
      () => dropDatabase(source),
      () => dropDatabase(restored),
    );
    await createDatabase(source);
    await loadRichPostgres(source);
    const workspace = await createWorkspace();
    cleanups.push(() => workspace.remove());
    await workspace.writeConfig(configFor({ engine: 'postgres', host: PG.host, user: PG.user, database: source }));

    process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
    const record = await workspace.run('main');
    delete process.env.STEPVAULT_TOOLS_DIR;
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump!.tool).toEqual({ name: 'pg_dump', version: expect.stringMatching(/^18\./) });

    // Restored with stepvault's own restore and the layer's pg_restore 18 into PostgreSQL 15, which
    // does not know the SET transaction_timeout every pg_dump 18 archive carries.
    process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
    const config = loadConfig(workspace.configFile);
    const result = await restore({
      config,
      target: getTarget(config, 'main'),
      secrets: new SecretResolver(),
      backup: 'latest',
      into: `postgres://postgres@127.0.0.1:${PG.port}/${restored}`,
    });
    delete process.env.STEPVAULT_TOOLS_DIR;
    expect(result.warnings).toEqual([expect.stringContaining('does not know transaction_timeout')]);
    expect(await tableDigests(restored)).toEqual(await tableDigests(source));
    expect(await objectInventory(restored)).toEqual(await objectInventory(source));
  });

  it('MariaDB: dumps with mariadb-dump 11 (auth plugins from the layer) and restores with its mariadb client', async () => {
    const source = uniqueName('sv_layer_maria');
    const restored = uniqueName('sv_layer_maria_restored');
    cleanups.push(
      () => dropMariaDatabase(source),
      () => dropMariaDatabase(restored),
    );
    await createMariaDatabase(source);
    await loadRichMariadb(source);
    const workspace = await createWorkspace();
    cleanups.push(() => workspace.remove());
    await workspace.writeConfig(
      configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database: source }),
    );

    process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
    const record = await workspace.run('main');
    delete process.env.STEPVAULT_TOOLS_DIR;
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump!.tool.version).toMatch(/^11\.\d+\.\d+-MariaDB/);

    await createMariaDatabase(restored);
    const dump = path.join(workspace.dir, 'backups', storedBackup(record).key);
    const [file, args] = layerCommand(layer, 'mariadb', [
      '--no-defaults',
      `--plugin-dir=${path.join(layer.layerDir, 'lib/plugin')}`,
      '--skip-ssl',
      '--default-character-set=utf8mb4',
      '-h',
      MARIADB.host,
      '-u',
      MARIADB.user,
      '--protocol=TCP',
      restored,
    ]);
    await run('sh', ['-c', 'zstd -dc "$0" | "$@"', dump, file, ...args]);
    expect(await mariaTableDigests(restored)).toEqual(await mariaTableDigests(source));
    expect(await mariaInventory(restored)).toEqual(await mariaInventory(source));
  });

  it('MariaDB: mariadb-dump writes in 1 MiB pieces, so Node reads a few large chunks, and the dump is the same', async () => {
    const source = uniqueName('sv_layer_buffer');
    cleanups.push(() => dropMariaDatabase(source));
    await createMariaDatabase(source);
    // About 16 MB of SQL, in lines of 1 MB (mariadb-dump's extended INSERTs).
    await mariadb(
      source,
      `CREATE TABLE t (id INT PRIMARY KEY, body TEXT);
       INSERT INTO t SELECT seq, REPEAT(MD5(seq), 25) FROM seq_1_to_20000;`,
    );
    const tool = resolveTool(['mariadb-dump'], { STEPVAULT_TOOLS_DIR: layer.layerDir, PATH: '' });
    const args = [
      ...tool.prefixArgs,
      '--no-defaults',
      '--skip-ssl',
      '--skip-dump-date',
      `--host=${MARIADB.host}`,
      `--user=${MARIADB.user}`,
      '--protocol=TCP',
      '--',
      source,
    ];
    const read = (extra: Record<string, string>) =>
      new Promise<{ reads: number; bytes: Buffer }>((resolve, reject) => {
        const child = spawn(tool.file, args, { env: toolEnvironment(extra), stdio: ['ignore', 'pipe', 'inherit'] });
        const chunks: Buffer[] = [];
        child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
        child.once('error', reject);
        child.once('close', (code) =>
          code === 0
            ? resolve({ reads: chunks.length, bytes: Buffer.concat(chunks) })
            : reject(new Error(`exit ${code}`)),
        );
      });
    const buffered = await read(outputBufferEnvironment(tool));
    const plain = await read({});
    expect(buffered.bytes.length).toBeGreaterThan(15_000_000);
    expect(buffered.bytes.equals(plain.bytes)).toBe(true);
    // Without the buffer the tool writes 4 KiB at a time and Node, keeping up, reads about that
    // much each time (3,500 reads here); with it, a read takes up to the pipe's 64 KiB.
    expect(buffered.bytes.length / buffered.reads).toBeGreaterThan(16 * 1024);
  });

  it('pg_dump 18 from the layer dumps a PostgreSQL 18 server, and the dump restores there', async () => {
    const server: RunningPostgres = await startEmbeddedPostgres();
    cleanups.push(() => server.stop());
    const psql18 = (db: string, sql: string) => {
      const [file, args] = layerCommand(layer, 'psql', [
        '-h',
        '127.0.0.1',
        '-p',
        String(server.port),
        '-U',
        'postgres',
        '-XAtq',
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        db,
        '-c',
        sql,
      ]);
      return run(file, args, { env: { ...process.env, PGPASSWORD: server.password } }).then((r) => r.stdout.trim());
    };
    await psql18('postgres', 'CREATE DATABASE shop');
    await psql18(
      'shop',
      `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g`,
    );
    process.env.STEPVAULT_TEST_PG18_PASSWORD = server.password;
    const workspace = await createWorkspace();
    cleanups.push(() => workspace.remove());
    await workspace.writeConfig(
      configFor({
        engine: 'postgres',
        host: '127.0.0.1',
        port: server.port,
        user: 'postgres',
        password: 'env:STEPVAULT_TEST_PG18_PASSWORD',
        database: 'shop',
      }),
    );

    process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
    const record = await workspace.run('main');
    delete process.env.STEPVAULT_TOOLS_DIR;
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump!.serverVersion).toMatch(/^18\./);

    await psql18('postgres', 'CREATE DATABASE shop_restored');
    const [file, args] = layerCommand(layer, 'pg_restore', [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.port),
      '-U',
      'postgres',
      '--exit-on-error',
      '-d',
      'shop_restored',
      path.join(workspace.dir, 'backups', storedBackup(record).key),
    ]);
    await run(file, args, { env: { ...process.env, PGPASSWORD: server.password } });
    const digest = `SELECT count(*) || ':' || md5(string_agg(t::text, ',' ORDER BY id)) FROM t`;
    expect(await psql18('shop_restored', digest)).toBe(await psql18('shop', digest));
  });
});

describe('the arm64 layer', () => {
  it('holds aarch64 binaries and libraries whose interpreter is under /opt/dbtools', async () => {
    const arm = await layerFor('arm64');
    for (const binary of BINARIES) {
      const file = path.join(arm.layerDir, 'bin', binary);
      expect(await machine(file), binary).toBe('AArch64');
      expect(await interpreter(file), binary).toBe('/opt/dbtools/lib/ld-linux-aarch64.so.1');
    }
    for (const lib of await readdir(path.join(arm.layerDir, 'lib'))) {
      if (lib === 'plugin' || lib === 'mysql-plugin') continue;
      expect(await machine(path.join(arm.layerDir, 'lib', lib)), lib).toBe('AArch64');
    }
    expect(arm.manifest.arch).toBe('arm64');
  });
});

// The build itself runs in this same file: two files building at once would race on the cache.
const quiet = () => undefined;

describe('building the dbtools layer', () => {
  it('rebuilds from its cache without the network (--offline)', async () => {
    await layerFor('x86_64');
    const out = await scratch('stepvault-layer-build-');
    const lines: string[] = [];
    const built = await buildLayer({ arch: 'x86_64', out, offline: true, log: (l) => lines.push(l) });
    expect(built.manifest.packages['postgresql-client-18']).toMatch(/^18\./);
    expect(lines.some((l) => l.startsWith('fetching'))).toBe(false);
    expect((await readdir(out)).sort()).toEqual(['dbtools-x86_64', 'dbtools-x86_64.zip']);
  });

  it('refuses an unknown architecture, naming the ones it knows', async () => {
    await expect(
      buildLayer({ arch: 'mips', out: await scratch('stepvault-layer-build-'), log: quiet }),
    ).rejects.toThrow('unknown --arch "mips": use x86_64 or arm64 (Lambda\'s names)');
  });

  it('says which archive it could not reach, and leaves nothing that looks like a layer', async () => {
    const out = await scratch('stepvault-layer-build-');
    await expect(
      buildLayer({
        arch: 'x86_64',
        out,
        cache: await scratch('stepvault-layer-build-'),
        mirror: 'http://127.0.0.1:9/debian',
        log: quiet,
      }),
    ).rejects.toThrow(/^cannot read the Debian archive at http:\/\/127\.0\.0\.1:9\/debian \(testing \+ sid amd64\)/);
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  it('names a package the suite does not have, and leaves nothing that looks like a layer', async () => {
    await layerFor('x86_64');
    const out = await scratch('stepvault-layer-build-');
    await expect(buildLayer({ arch: 'x86_64', out, postgresMajor: 99, log: quiet })).rejects.toThrow(
      'package postgresql-client-99 is not in Debian testing + sid amd64',
    );
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });
});
