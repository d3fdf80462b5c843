/**
 * A real MySQL server for the test (Debian's mysql-server-core, from the suite the layer takes
 * MySQL's client from): fetched with the layer build's private apt into its cache, unpacked once,
 * and started through the unpacked suite's own loader and C library (this machine's are older
 * than it needs). Initialized with an empty root password on a free port, stopped after.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { machineDebianMirror, PrivateApt } from '../../layers/dbtools/lib/apt.ts';
import { unpackAll } from '../../layers/dbtools/lib/assemble.ts';
import { DEFAULT_MYSQL_SUITE, DEFAULT_SUITE } from '../../layers/dbtools/lib/spec.ts';
import { freePort } from './pg-cluster.ts';

const run = promisify(execFile);
const CACHE = path.resolve(import.meta.dirname, '../../layers/dbtools/cache');

export interface MysqlServer {
  port: number;
  version: string;
  /** Runs the server's own mysql client (from the same package set) with SQL; its output. */
  sql(statement: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

/** The unpacked server and its libraries: one folder, made once per version. */
async function unpackedServer(): Promise<string> {
  const mirror = process.env.STEPVAULT_DEBIAN_MIRROR ?? machineDebianMirror();
  if (!mirror) throw new Error('no Debian mirror configured on this machine for the MySQL test server');
  const apt = new PrivateApt({
    root: path.join(CACHE, `${DEFAULT_SUITE}+${DEFAULT_MYSQL_SUITE}-amd64`),
    mirror,
    suite: DEFAULT_SUITE,
    fallbackSuites: [DEFAULT_MYSQL_SUITE],
    debianArch: 'amd64',
    log: () => undefined,
  });
  await apt.prepare();
  await apt.update(false);
  // Server and client conflict with nothing here: one closure, one folder.
  const debs = await apt.download(['mysql-server-core', 'mysql-client-core'], false);
  const server = debs.find((d) => path.basename(d).startsWith('mysql-server-core_'))!;
  const root = path.join(CACHE, `mysql-server-${path.basename(server, '.deb')}`);
  if (existsSync(path.join(root, 'usr/sbin/mysqld'))) return root;
  const work = await mkdtemp(path.join(CACHE, '.mysql-server-partial-'));
  try {
    const unpacked = await unpackAll(debs, path.join(work, 'packages'));
    const merged = path.join(work, 'root');
    for (const pkg of unpacked) await run('cp', ['-a', `${pkg.dir}/.`, merged]);
    await rm(root, { recursive: true, force: true });
    await rename(merged, root);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return root;
}

export async function startMysqlServer(): Promise<MysqlServer> {
  const root = await unpackedServer();
  const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
  const through = (binary: string, args: string[]): [string, string[]] => [
    path.join(lib, 'ld-linux-x86-64.so.2'),
    ['--library-path', lib, path.join(root, binary), ...args],
  ];
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-mysql-'));
  const common = [
    '--no-defaults',
    // CI runs as root, which mysqld refuses unless told to run as it.
    '--user=root',
    `--datadir=${path.join(dir, 'data')}`,
    `--basedir=${path.join(root, 'usr')}`,
    `--lc-messages-dir=${path.join(root, 'usr/share/mysql')}`,
    `--plugin-dir=${path.join(root, 'usr/lib/mysql/plugin')}`,
    '--secure-file-priv=',
    `--log-error=${path.join(dir, 'error.log')}`,
  ];
  await run(...through('usr/sbin/mysqld', [...common, '--initialize-insecure']));
  const port = await freePort();
  const [file, args] = through('usr/sbin/mysqld', [
    ...common,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--mysqlx=OFF',
    `--socket=${path.join(dir, 'mysqld.sock')}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    '--innodb-buffer-pool-size=64M',
  ]);
  const child: ChildProcess = spawn(file, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sql = async (statement: string, database?: string) =>
    (
      await run(
        ...through('usr/bin/mysql', [
          '--no-defaults',
          '-h127.0.0.1',
          `-P${port}`,
          '-uroot',
          '--protocol=TCP',
          '--default-character-set=utf8mb4',
          '-N',
          '-B',
          '-e',
          statement,
          ...(database ? [database] : []),
        ]),
      )
    ).stdout;
  let version = '';
  for (let attempt = 0; ; attempt++) {
    try {
      version = (await sql('SELECT VERSION()')).trim();
      break;
    } catch (error) {
      if (attempt > 300 || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`the MySQL test server did not start: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    version,
    sql,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
