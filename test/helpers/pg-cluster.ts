/**
 * A PostgreSQL server of the test's own (initdb + pg_ctl on a free port), so that a test may kill
 * it. initdb refuses to run as root, so the cluster belongs to a dedicated system user, created
 * when missing, and every server command runs as that user through runuser.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CLUSTER_USER = 'stepvault-test';

export interface PgCluster {
  port: number;
  dir: string;
  /** The postmaster's process id. */
  pid(): Promise<number>;
  /** SIGKILL to the postmaster, as a crash or an OOM kill would. */
  kill(): Promise<void>;
  /** Stops the server (if it still runs) and removes its files. */
  remove(): Promise<void>;
}

function which(tool: string): string {
  return execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
}

async function ensureUser(): Promise<{ uid: number; gid: number }> {
  try {
    await run('id', ['-u', CLUSTER_USER]);
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', CLUSTER_USER]);
  }
  const uid = Number((await run('id', ['-u', CLUSTER_USER])).stdout.trim());
  const gid = Number((await run('id', ['-g', CLUSTER_USER])).stdout.trim());
  return { uid, gid };
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function asClusterUser(tool: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', CLUSTER_USER, '--', which(tool), ...args], { cwd: '/' });
}

/** `tls`: a certificate and key the server offers TLS with (ssl = on); without it, no TLS. */
export async function startCluster(options: { tls?: { cert: string; key: string } } = {}): Promise<PgCluster> {
  const { uid, gid } = await ensureUser();
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-pgcluster-'));
  await chown(dir, uid, gid);
  const data = path.join(dir, 'data');
  await asClusterUser('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  let settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  if (options.tls) {
    // The server reads its key only when it belongs to it and nobody else may read it.
    for (const [name, text] of [
      ['server.crt', options.tls.cert],
      ['server.key', options.tls.key],
    ] as const) {
      await writeFile(path.join(data, name), text, { mode: 0o600 });
      await chown(path.join(data, name), uid, gid);
    }
    settings += ' -c ssl=on';
  }
  await asClusterUser('pg_ctl', ['-D', data, '-o', settings, '-l', path.join(dir, 'server.log'), '-w', 'start']);

  const pid = async () => Number((await readFile(path.join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return {
    port,
    dir,
    pid,
    async kill() {
      process.kill(await pid(), 'SIGKILL');
    },
    async remove() {
      await asClusterUser('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
