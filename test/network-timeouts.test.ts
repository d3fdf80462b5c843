/**
 * Every network client against an endpoint that accepts the connection and never answers: each
 * gives up in bounded time with an error that says what could not be reached. (S3 has its own
 * suite.) The clients run side by side, so the file takes about as long as the slowest one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_SECRET_RESOLVERS } from '../src/config/aws-secrets.ts';
import { getConnectedTarget, parseConfig } from '../src/config/load.ts';
import { parseSecretReference } from '../src/config/secrets.ts';
import { withConnection } from '../src/dumpers/mssql.ts';
import { SesNotifier } from '../src/notifiers/ses.ts';
import { publishOutcomeEvent } from '../src/observability/events.ts';
import { sendToSentry } from '../src/observability/sentry.ts';
import { SeqSink } from '../src/observability/seq.ts';
import { runCli } from './helpers/cli.ts';
import { startSilentServer, type SilentServer } from './helpers/silent-server.ts';
import { startTdsServer, type TdsServer } from './helpers/tds-server.ts';
import { createWorkspace, type Workspace } from './helpers/workspace.ts';

let silent: SilentServer;
let tds: TdsServer;
let workspace: Workspace;
const saved = { ...process.env };

beforeAll(async () => {
  silent = await startSilentServer();
  // Logs in and answers the client's own set-up, then never answers the statement under test.
  tds = await startTdsServer({
    onBatch: (sql) => (sql.includes('stepvault-never-answered') ? new Promise(() => undefined) : []),
  });
  workspace = await createWorkspace();
  Object.assign(process.env, {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SESV2: silent.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: silent.url,
    AWS_ENDPOINT_URL_SFN: silent.url,
    AWS_ENDPOINT_URL_CLOUDFORMATION: silent.url,
    AWS_ENDPOINT_URL_SSM: silent.url,
  });
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  await silent?.close();
  await tds?.close();
  await workspace?.remove();
});

/** How long `work` took to settle, and how it failed. */
async function timed(work: () => Promise<unknown>): Promise<{ seconds: number; error: Error }> {
  const started = Date.now();
  try {
    await work();
  } catch (error) {
    return { seconds: (Date.now() - started) / 1000, error: error as Error };
  }
  throw new Error('it succeeded against a server that never answers');
}

const run = { target: 'main' };
const execution = {
  id: 'arn:aws:states:eu-west-1:000000000000:execution:x:y',
  name: 'y',
  startTime: '2026-12-04T00:00:00Z',
};

function mssqlTarget(port: number) {
  const config = parseConfig(
    `targets:\n  sql: { engine: mssql, host: 127.0.0.1, port: ${port}, database: shop, user: sa, password: env:X, tls: { mode: disable }, mssql: { sharePath: /share } }\ndestinations:\n  l: { type: filesystem, path: ./b }\ndefaults: { destinations: [l] }\n`,
    '/x/stepvault.config.yml',
    '/x',
  );
  return getConnectedTarget(config, 'sql');
}

describe('a server that accepts and never answers', () => {
  it.concurrent('SES: the notifier gives up after two attempts of 8 s and says so', async () => {
    const notifier = new SesNotifier('ops', { from: 'a@example.test', to: ['b@example.test'] });
    const { seconds, error } = await timed(() =>
      notifier.send({ outcome: 'success', subject: 's', text: 't', html: 'h' }),
    );
    expect(error.name).toBe('TransientError');
    expect(error.message).toBe(
      'SES notification ops could not be sent: TimeoutError: a request has exceeded the configured 8000 ms requestTimeout.',
    );
    expect(seconds).toBeLessThan(25);
  });

  it.concurrent('EventBridge: the outcome event gives up after two attempts of 8 s', async () => {
    const { seconds, error } = await timed(() =>
      publishOutcomeEvent({ bus: 'default', source: 'stepvault' }, 'failure', run, execution),
    );
    expect(error.name).toBe('TimeoutError');
    expect(error.message).toContain('8000 ms requestTimeout');
    expect(seconds).toBeLessThan(25);
  });

  it.concurrent('Step Functions: `stepvault status` exits with the endpoint it could not reach', async () => {
    const started = Date.now();
    const result = await runCli(['status', '--state-machine', 'arn:aws:states:eu-west-1:000000000000:stateMachine:x'], {
      cwd: workspace.dir,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe(
      `stepvault: cannot reach ${silent.url}: TimeoutError: a request has exceeded the configured 8000 ms requestTimeout.\n`,
    );
    expect((Date.now() - started) / 1000).toBeLessThan(40);
  });

  it.concurrent('CloudFormation: finding the stage’s state machine gives up and names the ways around it', async () => {
    const started = Date.now();
    const result = await runCli(['start', '--target', 'main', '--stage', 'prod'], { cwd: workspace.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'stepvault: cannot find the state machine of stack stepvault-prod (TimeoutError: @smithy/node-http-handler - [ERROR] a request has exceeded the configured 8000 ms requestTimeout.)',
    );
    expect((Date.now() - started) / 1000).toBeLessThan(40);
  });

  it.concurrent('SSM: a secret reference gives up as a transient error', async () => {
    const { seconds, error } = await timed(() =>
      AWS_SECRET_RESOLVERS.ssm!(parseSecretReference('ssm:/prod/db-password')),
    );
    expect(error.name).toBe('TransientError');
    expect(error.message).toContain('SSM parameter /prod/db-password could not be read: TimeoutError');
    expect(seconds).toBeLessThan(40);
  });

  it.concurrent('Sentry: the report gives up after 10 s and names the host', async () => {
    const { seconds, error } = await timed(() =>
      sendToSentry(
        `http://key@127.0.0.1:${silent.port}/1`,
        { message: 'm', errorType: 'E', errorValue: 'v', tags: {}, extra: {} },
        '0.1.0',
      ),
    );
    expect(error.message).toBe(`Sentry at 127.0.0.1:${silent.port} did not answer within 10 s`);
    expect(seconds).toBeGreaterThanOrEqual(9);
    expect(seconds).toBeLessThan(15);
  });

  it.concurrent('SEQ: a batch gives up after 10 s with a warning, and the step goes on', async () => {
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const sink = new SeqSink(silent.url, async () => undefined);
    sink.write({ timestamp: new Date().toISOString(), level: 'info', message: 'hello', fields: {} });
    const started = Date.now();
    process.stderr.write = ((text: string) =>
      text.includes('SEQ') ? warnings.push(text) > 0 : write(text)) as typeof process.stderr.write;
    try {
      await sink.flush();
    } finally {
      process.stderr.write = write;
    }
    expect(warnings).toEqual([
      `stepvault: could not send 1 log events to SEQ at ${silent.url}/ingest/clef: no answer within 10 s\n`,
    ]);
    expect((Date.now() - started) / 1000).toBeLessThan(15);
  });

  it.concurrent('SQL Server: a server that never completes the login is a ConnectionError after 15 s', async () => {
    const { seconds, error } = await timed(() => withConnection(mssqlTarget(silent.port), 'pw', async () => undefined));
    expect(error.name).toBe('ConnectionError');
    expect(error.message).toMatch(
      /^cannot reach SQL Server for target sql.*: Failed to connect to 127\.0\.0\.1:\d+ in 15000ms/,
    );
    expect(seconds).toBeLessThan(20);
  });

  it.concurrent('SQL Server: a statement that is never answered times out (and so does the cancel the client then sends)', async () => {
    const { seconds, error } = await timed(() =>
      withConnection(mssqlTarget(tds.port), 'pw', (pool) => pool.request().batch("SELECT 'stepvault-never-answered'"), {
        requestTimeoutMs: 2_000,
      }),
    );
    expect(error.name).toBe('ConnectionError');
    // The client cancels after 2 s and waits 5 s more for the server to acknowledge: a hung server never does.
    expect(error.message).toMatch(/^cannot reach SQL Server for target sql .*: Failed to cancel request in 5000ms$/);
    expect(seconds).toBeGreaterThanOrEqual(6.5);
    expect(seconds).toBeLessThan(10);
  });
});
