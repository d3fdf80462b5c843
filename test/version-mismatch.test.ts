/**
 * pg_dump refuses a server newer than itself. Against a real PostgreSQL 18 with an older
 * pg_dump, the run must fail at once (no retries) with VersionMismatchError naming both versions
 * and what to do.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type RunningPostgres } from '../scripts/lib/embedded-postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const pathPgDumpMajor = Number(/\)\s+(\d+)/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1]);
let server: RunningPostgres;
let workspace: Workspace;

beforeAll(async () => {
  server = await startEmbeddedPostgres();
  process.env.STEPVAULT_TEST_PG18_PASSWORD = server.password;
  workspace = await createWorkspace();
});

afterAll(async () => {
  await server?.stop();
  await workspace?.remove();
});

describe('pg_dump older than the server', () => {
  it('the machine has an older pg_dump on PATH, which this test relies on', () => {
    expect(pathPgDumpMajor).toBeLessThan(18);
  });

  it('fails Dump with VersionMismatchError naming both versions, without retrying', async () => {
    await workspace.writeConfig(
      configFor({
        engine: 'postgres',
        host: '127.0.0.1',
        port: server.port,
        user: 'postgres',
        password: 'env:STEPVAULT_TEST_PG18_PASSWORD',
        database: 'postgres',
      }),
    );
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('Dump');
    expect(record.error).toBe('VersionMismatchError');
    expect(record.events.some((e) => e.type === 'state-retried')).toBe(false);
    const [mail] = await workspace.outbox();
    expect(mail!.body).toMatch(
      new RegExp(`pg_dump ${pathPgDumpMajor}\\.\\d+ cannot dump the PostgreSQL 18\\.\\d+ server of target main`),
    );
    expect(mail!.body).toContain('Use pg_dump 18 or newer');
    expect(await workspace.stagingEntries()).toEqual([]);
  });
});
