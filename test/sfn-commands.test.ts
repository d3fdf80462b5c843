/**
 * `stepvault start` and `stepvault status` talk the Step Functions API over HTTP; here to the
 * local endpoint (`stepvault serve`), which runs the real state machine with the local runner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { startSfnServer, type SfnServer } from '../src/local/sfn-server.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { executionName } from '../src/commands/start.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { runCli } from './helpers/cli.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_sfn');
let workspace: Workspace;
let server: SfnServer;

function stepvault(args: string[]) {
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL_SFN: server.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    STEPVAULT_STATE_MACHINE_ARN: server.stateMachineArn,
  };
  return runCli(args, { cwd: workspace.dir, env });
}

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, 'CREATE TABLE t AS SELECT 1 AS id');
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor(
      { engine: 'postgres', host: PG.host, user: PG.user, database },
      {
        targets: {
          main: { engine: 'postgres', host: PG.host, user: PG.user, database },
          down: { engine: 'postgres', host: PG.host, port: 1, database },
        },
      },
    ),
  );
  const config = loadConfig(workspace.configFile);
  server = await startSfnServer(
    () => createRuntime(config, { logger: () => createJsonLogger({ write: () => undefined }) }),
    { retryDelayMs: 10 },
  );
});

afterAll(async () => {
  await server?.idle();
  await server?.close();
  await dropDatabase(database);
  await workspace?.remove();
});

describe('stepvault start and status over the Step Functions API', () => {
  it('names executions after the target and the minute', () => {
    expect(executionName('orders', new Date('2026-11-22T03:05:59Z'))).toBe('orders-20261122T0305');
  });

  it('start --wait follows the execution state by state and exits 0 when it succeeds', async () => {
    const { code, stdout } = await stepvault(['start', '--target', 'main', '--wait', '--name', 'main-20261122T0305']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^started arn:aws:states:us-east-1:000000000000:execution:stepvault-local-backup:main-20261122T0305\n/,
    );
    for (const state of ['Plan', 'Dump', 'Upload', 'Verify', 'Prune', 'NotifySuccess', 'Cleanup'])
      expect(stdout).toMatch(new RegExp(`✓ ${state}\\s+\\d+\\.\\d+s`));
    expect(stdout).toContain('Backup of main succeeded.');
  });

  it('refuses a second start of the same target in the same minute instead of doubling it', async () => {
    // The name a start in the same minute gets (see executionName), given here so the test cannot straddle a minute.
    const { code, stderr } = await stepvault(['start', '--target', 'main', '--name', 'main-20261122T0305']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'an execution named main-20261122T0305 already exists: a second start of main in the same minute is refused, not doubled',
    );
  });

  it('start --wait exits 1 with the error when the execution fails', async () => {
    const { code, stdout } = await stepvault(['start', '--target', 'down', '--wait']);
    expect(code).toBe(1);
    expect(stdout).toContain('failed: ConnectionError: cannot reach PostgreSQL for target down');
    expect(stdout).toMatch(/Backup of down FAILED: ConnectionError: cannot reach PostgreSQL/);
  });

  it('status lists recent executions, newest first, and filters by target', async () => {
    await server.idle();
    const all = await stepvault(['status']);
    expect(all.code).toBe(0);
    const lines = all.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^STATUS\s+TARGET\s+STARTED\s+DURATION\s+NAME$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['FAILED', 'down'],
      ['SUCCEEDED', 'main'],
    ]);
    const down = await stepvault(['status', '--target', 'down']);
    expect(down.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('start without a target, or with no state machine to be found, says what to pass', async () => {
    expect((await stepvault(['start'])).stderr).toBe('stepvault: start needs --target NAME\n');
  });
});
