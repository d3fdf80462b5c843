/**
 * `stepvault start` and `stepvault status` talk the Step Functions API over HTTP; here to the
 * local endpoint (`stepvault serve`), which runs the real state machine with the local runner.
 */
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { startSfnServer, type SfnServer } from '../src/local/sfn-server.ts';
import { journalFile, readRuns } from '../src/status/run-journal.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { executionName } from '../src/commands/start.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { runCli } from './helpers/cli.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_sfn');
let workspace: Workspace;
let server: SfnServer;

/** The CLI with this server as its Step Functions endpoint; `env` overrides (undefined: unset) on top. */
function stepvault(args: string[], env: Record<string, string | undefined> = {}) {
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_SFN: server.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    STEPVAULT_STATE_MACHINE_ARN: server.stateMachineArn,
    // No region from this machine's own AWS settings.
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    AWS_CONFIG_FILE: path.join(workspace.dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(workspace.dir, 'no-aws-credentials'),
    // Credentials never from an instance metadata endpoint: there is none here.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return runCli(args, { cwd: workspace.dir, env: merged });
}

/** Forwards every request to `target`, noting each operation called. */
async function startCountingProxy(target: string, calls: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const operation = String(req.headers['x-amz-target'] ?? '');
      calls.push(operation.replace(/^AWSStepFunctions\./, ''));
      const answer = await fetch(target, {
        method: 'POST',
        headers: { 'X-Amz-Target': operation, 'Content-Type': 'application/x-amz-json-1.0' },
        body: Buffer.concat(chunks),
      });
      res.writeHead(answer.status, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
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

  it('start --wait prints each event once, each failed attempt, and exits 1 with the error when the execution fails', async () => {
    const { code, stdout } = await stepvault(['start', '--target', 'down', '--wait']);
    expect(code).toBe(1);
    const lines = stdout.split('\n').filter(Boolean);
    // Every poll reads on from where the last one stopped: no line twice, however many polls the run took.
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.filter((l) => l === '→ Plan')).toHaveLength(1);
    // From the LambdaFunctionFailed events, one line per attempt that Dump's Retry made.
    for (const attempt of [1, 2, 3])
      expect(stdout).toContain(
        `  Dump attempt ${attempt} failed: ConnectionError: cannot reach PostgreSQL for target down`,
      );
    expect(stdout).toMatch(/✗ Dump\s+\d+\.\d+s {2}\(failed: taking the failure branch\)/);
    expect(stdout).toMatch(/Backup of down FAILED: ConnectionError: cannot reach PostgreSQL/);
    // Recorded for the status page, as stepvault run records its runs.
    const journal = journalFile(loadConfig(workspace.configFile).targets.down!.staging);
    const entries = await readRuns(journal, 'down');
    expect(entries.map((e) => [e.status, e.error])).toEqual([['FAILED', 'ConnectionError']]);
    expect(entries[0]!.cause).toMatch(/^cannot reach PostgreSQL for target down/);
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

  it('status reads targets from the names start gives; only a generated name costs a DescribeExecution', async () => {
    const calls: string[] = [];
    const proxy = await startCountingProxy(server.url, calls);
    try {
      const named = await stepvault(['status'], { AWS_ENDPOINT_URL_SFN: proxy.url });
      expect(named.code, named.stderr).toBe(0);
      expect(calls).toEqual(['ListExecutions']);

      // A scheduled run's name is generated: its target is only in its input.
      await fetch(server.url, {
        method: 'POST',
        headers: { 'X-Amz-Target': 'AWSStepFunctions.StartExecution', 'Content-Type': 'application/x-amz-json-1.0' },
        body: JSON.stringify({ stateMachineArn: server.stateMachineArn, input: '{"target":"main"}' }),
      });
      await server.idle();
      calls.length = 0;
      const scheduled = await stepvault(['status', '--target', 'main'], { AWS_ENDPOINT_URL_SFN: proxy.url });
      expect(calls).toEqual(['ListExecutions', 'DescribeExecution']);
      expect(
        scheduled.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/\s+/).slice(0, 2)),
      ).toEqual([
        ['SUCCEEDED', 'main'],
        ['SUCCEEDED', 'main'],
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('finds the region as the AWS CLI does: AWS_DEFAULT_REGION, or the region of the profile in use', async () => {
    const started = await stepvault(['start', '--target', 'main', '--name', 'main-20261122T0400'], {
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('started arn:aws:states:');

    const configFile = path.join(workspace.dir, 'aws-config');
    // A named profile's keys take precedence over the environment's, as in the AWS CLI: it carries its own.
    await writeFile(
      configFile,
      '[profile backups]\nregion = eu-central-1\naws_access_key_id = local\naws_secret_access_key = local\n',
    );
    const profiled = await stepvault(['status'], {
      AWS_REGION: undefined,
      AWS_CONFIG_FILE: configFile,
      AWS_PROFILE: 'backups',
    });
    expect(profiled.code, profiled.stderr).toBe(0);
    expect(profiled.stdout).toMatch(/^STATUS/);
  });

  it('with no region anywhere, says in one line what to set, and exits 2', async () => {
    for (const command of [['start', '--target', 'main'], ['status']]) {
      const { code, stdout, stderr } = await stepvault(command, { AWS_REGION: undefined });
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe(
        'stepvault: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, a region in your AWS profile (aws configure set region eu-west-1), deploy.region in the config, or pass --region\n',
      );
    }
  });

  it('with a profile that has no keys, says in one line what to set, and exits 2', async () => {
    const configFile = path.join(workspace.dir, 'aws-config-keyless');
    await writeFile(configFile, '[profile keyless]\nregion = eu-central-1\n');
    const { code, stderr } = await stepvault(['status'], {
      AWS_CONFIG_FILE: configFile,
      AWS_PROFILE: 'keyless',
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^stepvault: no AWS credentials for Step Functions \(.+\): set AWS_PROFILE to a profile with keys, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n$/,
    );
  });

  it('start without a target, or with no state machine to be found, says what to pass', async () => {
    expect((await stepvault(['start'])).stderr).toBe('stepvault: start needs --target NAME\n');
  });
});
