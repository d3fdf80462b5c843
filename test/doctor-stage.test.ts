/**
 * `stepvault doctor --stage`: the state machine routes `{"target", "doctor": true}` to its Doctor
 * state, which runs doctor's checks where the dumps run and ends the execution with the report.
 * Here the real definition runs through the local executor, and the CLI drives it over the Step
 * Functions API of `stepvault serve`; a stage with no deployment and a state machine deployed
 * before the Doctor state are refused with what to do.
 */
import { createServer, type Server } from 'node:http';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../src/contracts.ts';
import { loadConfig } from '../src/config/load.ts';
import { runWorkflow } from '../src/local/runner.ts';
import { startSfnServer, type SfnServer } from '../src/local/sfn-server.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { runCli } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_doctor_stage');
let workspace: Workspace;
let server: SfnServer;
const stubs: Server[] = [];

function runtime() {
  return createRuntime(loadConfig(workspace.configFile), {
    logger: () => createJsonLogger({ write: () => undefined }),
  });
}

/** The CLI with AWS reached only at `endpoints` (no profile, no metadata endpoint of this machine). */
function stepvault(args: string[], env: Record<string, string | undefined>) {
  const merged: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: undefined,
    AWS_PROFILE: undefined,
    STEPVAULT_STATE_MACHINE_ARN: undefined,
    AWS_CONFIG_FILE: path.join(workspace.dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(workspace.dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return runCli(args, { cwd: workspace.dir, env: merged });
}

/** An HTTP server answering every request with `status` and `body`. */
async function stub(status: number, contentType: string, body: string): Promise<string> {
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'Content-Type': contentType });
      res.end(body);
    });
  });
  stubs.push(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(http.address() as { port: number }).port}`;
}

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, 'CREATE TABLE t AS SELECT 1 AS id');
  workspace = await createWorkspace();
  // A file where the destination's folder should be: every write there fails.
  await writeFile(path.join(workspace.dir, 'not-a-folder'), 'a file, not a folder\n');
  await workspace.writeConfig(
    configFor(
      { engine: 'postgres', host: PG.host, user: PG.user, database },
      {
        destinations: {
          local: { type: 'filesystem', path: './backups', prefix: 'db' },
          refused: { type: 'filesystem', path: './not-a-folder/backups' },
        },
        notifications: {
          desk: { type: 'outbox', path: './outbox', to: ['ops@example.test'] },
          hook: { type: 'webhook', format: 'json', url: 'env:STEPVAULT_TEST_UNSET_HOOK_URL', on: ['failure'] },
        },
        targets: {
          main: { engine: 'postgres', host: PG.host, user: PG.user, database, notify: ['desk', 'hook'] },
          refusing: { engine: 'postgres', host: PG.host, user: PG.user, database, destinations: ['refused'] },
        },
      },
    ),
  );
  server = await startSfnServer(runtime, { retryDelayMs: 10 });
});

afterAll(async () => {
  await server?.idle();
  await server?.close();
  await Promise.all(stubs.map((s) => new Promise((resolve) => s.close(resolve))));
  await dropDatabase(database);
  await workspace?.remove();
});

describe('a doctor execution of the state machine', () => {
  it('runs Doctor alone and ends with its report when every check passes: nothing dumped, stored or sent', async () => {
    const states: string[] = [];
    const outcome = await runWorkflow({
      runtime: runtime(),
      request: { target: 'main', doctor: true } as never,
      onEvent: (event) => {
        if (event.type === 'state-entered') states.push(event.state);
      },
    });
    expect(outcome.status).toBe('SUCCEEDED');
    expect(states).toEqual(['IsDoctor', 'Doctor']);
    const report = outcome.output as unknown as DoctorReport;
    expect(report.target).toBe('main');
    expect(report.ok).toBe(true);
    const line = (name: string) => report.checks.find((c) => c.name === name);
    expect(line('login')).toMatchObject({ status: 'ok' });
    expect(line('destination local')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining('write, read, list and delete work'),
    });
    // Notify runs outside the VPC: checking it from the Doctor's place would prove nothing.
    expect(line('notifier desk')).toEqual({
      name: 'notifier desk',
      status: 'skip',
      detail:
        'Notify sends from outside the VPC, not from where the dump runs: `stepvault doctor` checks it from your machine',
    });
    // A notifier's secret is Notify's to read: not asked, so an unset one fails nothing here.
    expect(line('secret notifications.hook.url')).toEqual({
      name: 'secret notifications.hook.url',
      status: 'skip',
      detail: 'read by Notify, whose role alone may: `stepvault doctor` checks it from your machine',
    });
    // The probe is gone, and no backup, staging folder or mail was left.
    expect(await readdir(path.join(workspace.dir, 'backups'), { recursive: true }).catch(() => [])).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/\.(dump|manifest\.json)$|doctor-probe/)]),
    );
    expect(await workspace.stagingEntries()).toEqual([]);
    expect(await workspace.outbox()).toEqual([]);
  });

  it('reports a destination that refuses writes with its line and fix, and still succeeds as an execution', async () => {
    const outcome = await runWorkflow({ runtime: runtime(), request: { target: 'refusing', doctor: true } as never });
    expect(outcome.status).toBe('SUCCEEDED');
    const report = outcome.output as unknown as DoctorReport;
    expect(report.ok).toBe(false);
    const line = report.checks.find((c) => c.name === 'destination refused');
    expect(line?.status).toBe('fail');
    expect(line?.detail).toMatch(/^cannot write: /);
    expect(line?.fix).toBe(
      'destinations.refused: let the backup role write there (s3:PutObject; a folder the process may create files in), and check that the bucket or folder exists',
    );
    expect(await workspace.outbox()).toEqual([]);
  });

  it('fails on a target the deployed config does not have, naming the ones it has', async () => {
    const outcome = await runWorkflow({ runtime: runtime(), request: { target: 'mian', doctor: true } as never });
    expect(outcome.status).toBe('FAILED');
    expect(outcome.error).toBe('ConfigError');
    expect(outcome.cause).toContain('unknown target \\"mian\\" in stepvault.config.yml; known targets: main, refusing');
  });

  it('backs up as before when the input asks for no doctor', async () => {
    const record = await workspace.run('main');
    expect(record.status).toBe('SUCCEEDED');
    expect(record.events.find((e) => e.type === 'state-entered' && e.state === 'Doctor')).toBeUndefined();
  });
});

describe('stepvault doctor --stage', () => {
  const overServe = () => ({ AWS_ENDPOINT_URL_SFN: server.url, STEPVAULT_STATE_MACHINE_ARN: server.stateMachineArn });

  it('prints the deployment’s report in the local doctor’s format and exits 0 when every check passes', async () => {
    const { code, stdout, stderr } = await stepvault(['doctor', '--stage', 'dev', '--target', 'main'], overServe());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^doctor: target main, from stage dev\n/);
    expect(stdout).toMatch(/✓ destination local\s+.*write, read, list and delete work/);
    expect(stdout).toMatch(/– notifier desk\s+Notify sends from outside the VPC/);
    expect(stdout).toMatch(/\n0 failed, \d+ skipped, \d+ passed\n$/);
  });

  it('exits 1 with the failing line and its fix, and --json gives the report with the stage', async () => {
    const text = await stepvault(['doctor', '--stage', 'dev', '--target', 'refusing'], overServe());
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/✗ destination refused\s+cannot write: /);
    expect(text.stdout).toContain('fix: destinations.refused: let the backup role write there');

    const json = await stepvault(['doctor', '--stage', 'dev', '--target', 'refusing', '--json'], overServe());
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as DoctorReport & { stage: string; executionArn: string };
    expect(report).toMatchObject({ target: 'refusing', ok: false, stage: 'dev' });
    expect(report.executionArn).toMatch(/:execution:stepvault-local-backup:refusing-doctor-/);
  });

  it('refuses a target the config does not have before starting anything', async () => {
    const { code, stderr } = await stepvault(['doctor', '--stage', 'dev', '--target', 'mian'], overServe());
    expect(code).toBe(2);
    expect(stderr).toContain('unknown target "mian" in stepvault.config.yml; known targets: main, refusing');
  });

  it('refuses a stage with no deployment, saying which stack it looked for and the ways around it', async () => {
    const cloudFormation = await stub(
      400,
      'text/xml',
      '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id stepvault-nope does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>',
    );
    const { code, stderr, stdout } = await stepvault(['doctor', '--stage', 'nope', '--target', 'main'], {
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation,
      AWS_ENDPOINT_URL_SFN: server.url,
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'stepvault: cannot find the state machine of stack stepvault-nope (ValidationError: Stack with id stepvault-nope does not exist); pass --state-machine ARN, set STEPVAULT_STATE_MACHINE_ARN, or --stage\n',
    );
  });

  it('refuses a state machine deployed without the Doctor state instead of starting a backup', async () => {
    const arn = 'arn:aws:states:us-east-1:000000000000:stateMachine:stepvault-old';
    const old = await stub(
      200,
      'application/x-amz-json-1.0',
      JSON.stringify({
        stateMachineArn: arn,
        name: 'stepvault-old',
        definition: JSON.stringify({ StartAt: 'Plan', States: { Plan: { Type: 'Succeed' } } }),
      }),
    );
    const { code, stderr } = await stepvault(['doctor', '--stage', 'old', '--target', 'main'], {
      AWS_ENDPOINT_URL_SFN: old,
      STEPVAULT_STATE_MACHINE_ARN: arn,
    });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `stepvault: the state machine of stage old (${arn}) has no Doctor state: it was deployed by an older stepvault; deploy it again (npm run deploy) before doctor --stage\n`,
    );
  });

  it('asks for --target when there is no config here to choose one from', async () => {
    const { code, stderr } = await runCli(['doctor', '--stage', 'dev'], { cwd: path.dirname(workspace.dir) });
    expect(code).toBe(2);
    expect(stderr).toBe(
      'stepvault: doctor: --stage needs --target NAME here: there is no stepvault.config.yml to choose the target from (or pass --config)\n',
    );
  });
});
