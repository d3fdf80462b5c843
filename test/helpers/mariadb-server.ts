/**
 * A MariaDB server of the test's own (mariadb-install-db + mariadbd on a free port), for what the
 * shared server does not have: TLS. Runs as the mysql system user, with root logging in by
 * password-less TCP as on the shared server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './pg-cluster.ts';

const run = promisify(execFile);

export interface MariadbServer {
  port: number;
  stop(): Promise<void>;
}

export async function startMariadbServer(options: { tls: { cert: string; key: string } }): Promise<MariadbServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-mariadb-'));
  const uid = Number((await run('id', ['-u', 'mysql'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'mysql'])).stdout.trim());
  for (const [name, text] of [
    ['cert.pem', options.tls.cert],
    ['key.pem', options.tls.key],
  ] as const) {
    await writeFile(path.join(dir, name), text, { mode: 0o600 });
  }
  await run('chown', ['-R', `${uid}:${gid}`, dir]);
  await chown(dir, uid, gid);
  const data = path.join(dir, 'data');
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${data}`,
    '--user=mysql',
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=mysql',
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${path.join(dir, 'sock')}`,
      `--pid-file=${path.join(dir, 'pid')}`,
      `--ssl-cert=${path.join(dir, 'cert.pem')}`,
      `--ssl-key=${path.join(dir, 'key.pem')}`,
      `--log-error=${path.join(dir, 'error.log')}`,
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when the client gets in.
  for (let attempt = 0; ; attempt++) {
    try {
      await run('mariadb', ['--no-defaults', '-h127.0.0.1', `-P${port}`, '-uroot', '--protocol=TCP', '-e', 'SELECT 1']);
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`the MariaDB test server did not start: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
