/**
 * Mail through a real SES API (aws-ses-v2-local over HTTP, reached through the SDK's
 * AWS_ENDPOINT_URL_SESV2): the success mail and one for each failure kind, read back from the
 * server's store. Then what else a run tells the world: EMF metrics, JSON logs, EventBridge
 * events, Sentry and SEQ — each against a local HTTP endpoint that records what it receives.
 */
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as sesLocal from 'aws-ses-v2-local';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_STATE_KEYS } from '../src/contracts.ts';
import { truncatingTool } from './helpers/fake-tools.ts';
import { startHttpRecorder, type HttpRecorder } from './helpers/http-recorder.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, type Workspace } from './helpers/workspace.ts';

interface StoredMail {
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

const PASSWORD = 'Sv-mail-t3st-pw';
const database = uniqueName('sv_pg_mail');
let ses: Server;
let sesUrl: string;
const workspaces: Workspace[] = [];
const servers: HttpRecorder[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  // A CommonJS package: its server is `default`, one level down when loaded from ESM.
  type Start = (config: { host: string; port: number }) => Promise<Server>;
  const loaded = sesLocal.default as unknown as Start | { default: Start };
  const start = typeof loaded === 'function' ? loaded : loaded.default;
  ses = await start({ host: '127.0.0.1', port });
  sesUrl = `http://127.0.0.1:${port}`;
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SESV2: sesUrl,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    STEPVAULT_TEST_MAIL_PASSWORD: PASSWORD,
  });
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g`);
});

afterAll(async () => {
  await new Promise((resolve) => ses.close(resolve));
  await Promise.all(servers.map((s) => s.stop()));
  await dropDatabase(database);
  await Promise.all(workspaces.map((w) => w.remove()));
  delete process.env.AWS_ENDPOINT_URL_SESV2;
  delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
});

async function mailsTo(address: string): Promise<StoredMail[]> {
  const store = (await (await fetch(`${sesUrl}/store`)).json()) as { emails: StoredMail[] };
  return store.emails.filter((m) => m.destination.to.includes(address));
}

const target = {
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  password: 'env:STEPVAULT_TEST_MAIL_PASSWORD',
  database,
};

/** A workspace whose notifications go to SES, to a recipient of its own. */
async function sesWorkspace(
  recipient: string,
  targetOverrides: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<Workspace> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(
    configFor(
      { ...target, ...targetOverrides },
      {
        notifications: {
          ops: {
            type: 'ses',
            from: 'backups@example.test',
            to: [recipient],
            cc: ['dba@example.test'],
            on: ['failure', 'success'],
          },
        },
        defaults: { staging: './staging', destinations: ['local'], notify: ['ops'] },
        ...extra,
      },
    ),
  );
  return workspace;
}

function noSecretIn(record: RunRecord, mails: StoredMail[]): void {
  const everything =
    JSON.stringify(mails) + record.logs.join('\n') + JSON.stringify(record.state) + JSON.stringify(record.metrics);
  expect(everything).not.toContain(PASSWORD);
}

describe('SES mails', () => {
  it('success: subject, recipients, and what happened, in text and HTML', async () => {
    const workspace = await sesWorkspace('success@example.test');
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const [mail, ...more] = await mailsTo('success@example.test');
    expect(more).toEqual([]);
    expect(mail!.from).toBe('backups@example.test');
    expect(mail!.destination.cc).toEqual(['dba@example.test']);
    expect(mail!.subject).toMatch(/^\[stepvault\] main: backup succeeded \([\d.]+ KB\)$/);
    for (const part of [mail!.body.text!, mail!.body.html!]) {
      expect(part).toContain(database);
      expect(part).toContain('postgres');
      expect(part).toContain(record.state.dump!.sha256);
      expect(part).toContain(path.join(workspace.dir, 'backups', 'db', 'main'));
      expect(part).toMatch(/dump [\d.]+s, whole run [\d.]+s/);
      expect(part).toContain('local: kept 1, deleted 0');
    }
    expect(mail!.body.html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    noSecretIn(record, [mail!]);
    // The execution's output is a RunState, nothing it does not describe.
    expect(RUN_STATE_KEYS).toEqual(expect.arrayContaining(Object.keys(record.state)));
    expect(Object.keys(record.state)).toEqual(
      expect.arrayContaining(['target', 'plan', 'dump', 'upload', 'verify', 'prune', 'notification', 'cleanup']),
    );
  });

  it.each([
    ['an unreachable database', { port: 1 }, 'Dump', 'ConnectionError', /cannot reach PostgreSQL for target main/],
    ['a dump tool that dies halfway', { tools: 'dies' }, 'Dump', 'DumpError', /pg_dump of main .*failed|incomplete/],
    [
      'a destination that cannot be written',
      { blocked: true },
      'Upload',
      'ConfigError',
      /destination local: cannot write/,
    ],
    [
      'an undefined secret',
      { password: 'env:STEPVAULT_TEST_NEVER_SET' },
      'Plan',
      'ConfigError',
      /environment variable STEPVAULT_TEST_NEVER_SET is not set/,
    ],
  ])('failure: %s', async (_what, setup, state, error, cause) => {
    const recipient = `${state.toLowerCase()}-${uniqueName('fail')}@example.test`;
    const { tools, blocked, ...overrides } = setup as {
      tools?: string;
      blocked?: boolean;
      port?: number;
      password?: string;
    };
    const workspace = await sesWorkspace(
      recipient,
      overrides,
      blocked ? { destinations: { local: { type: 'filesystem', path: './blocked/backups' } } } : {},
    );
    if (blocked) await writeFile(path.join(workspace.dir, 'blocked'), 'a file, not a folder');
    if (tools) {
      await truncatingTool(workspace.dir, 'pg_dump', 4096, 1);
      process.env.STEPVAULT_TOOLS_DIR = workspace.dir;
    }
    const record = await workspace.run('main');
    delete process.env.STEPVAULT_TOOLS_DIR;
    expect(record.status).toBe('FAILED');
    const [mail] = await mailsTo(recipient);
    expect(mail!.subject).toBe(`[stepvault] main: backup FAILED in ${state} (${error})`);
    for (const part of [mail!.body.text!, mail!.body.html!]) {
      expect(part).toContain(`FAILED in state ${state}`);
      expect(part).toContain(error);
      expect(part).toMatch(cause);
    }
    noSecretIn(record, [mail!]);
    // What the failure branch hands NotifyFailure is a RunState too.
    const notified = record.events.find((e) => e.type === 'state-entered' && e.state === 'NotifyFailure');
    const run = (notified as { input: Record<string, unknown> }).input;
    expect(RUN_STATE_KEYS).toEqual(expect.arrayContaining(Object.keys(run)));
    expect(run.failure).toEqual({ state, error, cause: expect.any(String) });
  });

  it('an unknown target still mails the default notifiers', async () => {
    const workspace = await sesWorkspace('unknown-target@example.test');
    const record = await workspace.run('nosuch');
    expect(record.status).toBe('FAILED');
    const [mail] = await mailsTo('unknown-target@example.test');
    expect(mail!.subject).toBe('[stepvault] nosuch: backup FAILED in Plan (ConfigError)');
    expect(mail!.body.text).toContain('unknown target "nosuch"');
  });

  it('with SES down, the backup still succeeds; the failure is logged and counted', async () => {
    const workspace = await sesWorkspace('nobody@example.test');
    process.env.AWS_ENDPOINT_URL_SESV2 = `http://127.0.0.1:${await freePort()}`;
    const record = await workspace.run('main');
    process.env.AWS_ENDPOINT_URL_SESV2 = sesUrl;
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump?.size).toBeGreaterThan(0);
    const failure = record.logs.map((l) => JSON.parse(l)).find((l) => l.message === 'notification failed');
    expect(failure).toMatchObject({
      level: 'error',
      notifier: 'ops',
      outcome: 'success',
      error: 'TransientError',
      state: 'NotifySuccess',
      target: 'main',
    });
    const counted = record.metrics.find((m) => 'NotificationFailed' in m);
    expect(counted).toMatchObject({ NotificationFailed: 1, target: 'main' });
  });
});

describe('metrics, logs and events', () => {
  it('emits EMF with the backup metrics under namespace stepvault and dimension target', async () => {
    const workspace = await sesWorkspace('metrics@example.test');
    const record = await workspace.run('main');
    const emf = record.metrics.find((m) => 'BackupSucceeded' in m) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
      };
    };
    expect(emf).toMatchObject({
      BackupSucceeded: 1,
      target: 'main',
      service: 'stepvault',
      SizeBytes: record.state.dump!.size,
    });
    expect(emf.DurationSeconds as number).toBeGreaterThan(0);
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive!.Namespace).toBe('stepvault');
    expect(directive!.Dimensions).toEqual([['service', 'target']]);
    expect(directive!.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'BackupSucceeded', Unit: 'Count' },
        { Name: 'DurationSeconds', Unit: 'Seconds' },
        { Name: 'SizeBytes', Unit: 'Bytes' },
      ]),
    );
    const failed = await sesWorkspace('metrics-fail@example.test', { port: 1 });
    const failedRecord = await failed.run('main');
    expect(failedRecord.metrics.find((m) => 'BackupFailed' in m)).toMatchObject({ BackupFailed: 1, target: 'main' });
  });

  it('writes JSON log lines that carry runId, target and state', async () => {
    const workspace = await sesWorkspace('logs@example.test');
    const record = await workspace.run('main');
    const lines = record.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const runId = record.state.plan!.runId;
    for (const state of ['Dump', 'Upload', 'Prune', 'Cleanup']) {
      const line = lines.find((l) => l.state === state);
      expect(line, state).toMatchObject({ runId, target: 'main', level: 'info', service: 'stepvault' });
    }
    expect(lines.every((l) => typeof l.timestamp === 'string' && typeof l.message === 'string')).toBe(true);
  });

  it('puts succeeded and failed events on the configured EventBridge bus', async () => {
    const bus = await startHttpRecorder((request) => ({
      status: 200,
      headers: { 'Content-Type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: `event-${request.body.length}` }] }),
    }));
    servers.push(bus);
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.url;
    const good = await sesWorkspace('events@example.test', {}, { events: { bus: 'backups' } });
    expect((await good.run('main')).status).toBe('SUCCEEDED');
    const bad = await sesWorkspace('events-fail@example.test', { port: 1 }, { events: { bus: 'backups' } });
    expect((await bad.run('main')).status).toBe('FAILED');

    const entries = bus.requests.map((r) => {
      expect(r.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
      return (
        JSON.parse(r.body) as {
          Entries: { EventBusName: string; Source: string; DetailType: string; Detail: string }[];
        }
      ).Entries[0]!;
    });
    expect(entries.map((e) => [e.EventBusName, e.Source, e.DetailType])).toEqual([
      ['backups', 'stepvault', 'stepvault.backup.succeeded'],
      ['backups', 'stepvault', 'stepvault.backup.failed'],
    ]);
    expect(JSON.parse(entries[0]!.Detail)).toMatchObject({
      target: 'main',
      database,
      destinations: [{ name: 'local', status: 'stored' }],
    });
    expect(JSON.parse(entries[1]!.Detail)).toMatchObject({ target: 'main', state: 'Dump', error: 'ConnectionError' });
  });

  it('reports failures to Sentry and ships logs to SEQ as CLEF, when configured', async () => {
    const sentry = await startHttpRecorder(() => ({ status: 200, body: '{}' }));
    const seq = await startHttpRecorder(() => ({ status: 201 }));
    servers.push(sentry, seq);
    process.env.STEPVAULT_TEST_SEQ_KEY = 'seq-api-key-123';
    const workspace = await sesWorkspace(
      'sinks@example.test',
      { port: 1 },
      {
        observability: {
          sentry: { dsn: `http://publickey123@127.0.0.1:${sentry.port}/42`, environment: 'test' },
          seq: { url: seq.url, apiKey: 'env:STEPVAULT_TEST_SEQ_KEY' },
        },
      },
    );
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');

    expect(sentry.requests).toHaveLength(1);
    const [request] = sentry.requests;
    expect(request!.url).toBe('/api/42/envelope/');
    expect(request!.headers['x-sentry-auth']).toContain('sentry_key=publickey123');
    const [, itemHeader, event] = request!.body.split('\n').map((l) => JSON.parse(l));
    expect(itemHeader).toEqual({ type: 'event' });
    expect(event).toMatchObject({
      level: 'error',
      environment: 'test',
      tags: { target: 'main', state: 'Dump' },
      exception: { values: [{ type: 'ConnectionError' }] },
    });
    expect(event.exception.values[0].value).toContain('cannot reach PostgreSQL');

    const clef = seq.requests.flatMap((r) => {
      expect(r.url).toBe('/ingest/clef');
      expect(r.headers['content-type']).toBe('application/vnd.serilog.clef');
      expect(r.headers['x-seq-apikey']).toBe('seq-api-key-123');
      return r.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    });
    expect(clef.find((e) => e['@mt'] === 'dump started')).toMatchObject({
      '@l': 'Information',
      target: 'main',
      state: 'Dump',
      Application: 'stepvault',
    });
    expect(JSON.stringify(clef)).not.toContain(PASSWORD);
  });
});

describe('notification config errors', () => {
  it.each([
    [{ type: 'ses', from: 'a@example.test', to: [] }, 'notifications.ops.to: needs at least one recipient'],
    [{ type: 'ses', from: 'a@example.test' }, 'notifications.ops.to: is required'],
    [
      { type: 'ses', from: 'not-an-address', to: ['b@example.test'] },
      'notifications.ops.from: is not an email address (name@example.com)',
    ],
    [
      { type: 'ses', from: 'a@example.test', to: ['b@example.test'], on: ['sucess'] },
      'notifications.ops.on[0]: "sucess" (a string) is not allowed; use one of "success", "failure"',
    ],
  ])('%j', async (notification, message) => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor(target, {
        notifications: { ops: notification },
        defaults: { destinations: ['local'], notify: ['ops'] },
      }),
    );
    const { loadConfig } = await import('../src/config/load.ts');
    expect(() => loadConfig(workspace.configFile)).toThrow(message);
  });
});
