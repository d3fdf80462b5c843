/**
 * Multipart uploads left open by a run whose last Upload attempt failed while the S3 server was
 * down (so lib-storage's own abort could not reach it either): Cleanup aborts them once the store
 * is back, on the failure branch (CleanupAfterFailure) and on the success path (an optional
 * destination that failed). Through the real state machine and the S3 test server: the server
 * kills itself right after storing a part and stays down through every Upload attempt; it is
 * started again while Notify sends its mail (to a local SES endpoint), before Cleanup runs.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import type { CleanupResult, PlanResult } from '../src/contracts.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { abortBudgetMs, closeOpenWrites } from '../src/steps/open-writes.ts';
import { plan } from '../src/steps/plan.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { startSilentServer } from './helpers/silent-server.ts';
import { configFor, type RunRecord, type Workspace, workspacePool } from './helpers/workspace.ts';

const MIB = 1024 * 1024;
const database = uniqueName('sv_pg_orphans');
let s3: S3TestServer;
let ses: Server;
const workspaces = workspacePool();

/** What the SES endpoint does before it answers a mail (then forgets it), and the mails' subjects. */
let beforeAnswer: (() => Promise<void>) | undefined;
let hookDone: Promise<void> | undefined;
const subjects: string[] = [];

beforeAll(async () => {
  s3 = await startS3Server(['orphans']);
  ses = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Content: { Simple: { Subject: { Data: string } } };
      };
      subjects.push(body.Content.Simple.Subject.Data);
      // A retry of the same mail waits for the same hook, which runs once.
      if (beforeAnswer) {
        hookDone = beforeAnswer();
        beforeAnswer = undefined;
      }
      await hookDone;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ MessageId: `local-${subjects.length}` }));
    });
  });
  await new Promise<void>((resolve) => ses.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SESV2: `http://127.0.0.1:${(ses.address() as { port: number }).port}`,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  await createDatabase(database);
  // Incompressible rows: a dump of several 5 MiB parts.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 200000) g`,
  );
});

afterAll(async () => {
  await s3?.stop();
  await new Promise((resolve) => ses?.close(resolve));
  delete process.env.AWS_ENDPOINT_URL_SESV2;
  await dropDatabase(database);
  await workspaces.removeAll();
});

function workspaceWith(destinations: Record<string, unknown>, use: string[]): Promise<Workspace> {
  return workspaces.withConfig(
    configFor(
      { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
      {
        destinations,
        notifications: {
          desk: { type: 'outbox', path: './outbox', to: ['ops@example.test'] },
          ops: { type: 'ses', from: 'backups@example.test', to: ['ops@example.test'] },
        },
        defaults: { destinations: use, staging: './staging', notify: ['desk', 'ops'] },
      },
    ),
  );
}

/**
 * Arms the crash, and the restart for when Notify sends its mail; that moment also records which
 * multipart uploads were open then (what the failed attempts left for Cleanup).
 */
async function crashUntilNotify(): Promise<{ openAtNotify: () => string[] }> {
  const crash = await s3.crashAfterParts(1);
  let open: string[] = [];
  beforeAnswer = async () => {
    await crash.exited;
    await s3.restart();
    open = await s3.openMultipartUploads('orphans');
  };
  return { openAtNotify: () => open };
}

function stateOutput<T>(record: RunRecord, state: string): T {
  const exited = record.events.find((e) => e.type === 'state-exited' && e.state === state && e.index === undefined);
  if (exited?.type !== 'state-exited') throw new Error(`${state} never exited`);
  return exited.output as T;
}

describe('a run whose last Upload attempt failed with the S3 server down', () => {
  it('the failure branch aborts the open multipart upload of the run, and still reports the original failure', async () => {
    const workspace = await workspaceWith(
      { primary: s3Destination(s3, 'orphans', { prefix: 'failed', partSizeMB: 5, concurrency: 1 }) },
      ['primary'],
    );
    const { openAtNotify } = await crashUntilNotify();
    const record = await workspace.run('main');

    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Upload', error: 'StorageError' });
    expect(record.cause).toContain('ECONNREFUSED');
    const plan = stateOutput<{ plan: PlanResult }>(record, 'Plan').plan;
    const key = `failed/${plan.objectKey}`;
    // Every attempt failed: the first one's upload, which the store never heard aborted, was open when Notify ran.
    expect(
      record.events.filter((e) => e.type === 'state-retried' && e.state === 'UploadToDestination').length,
    ).toBeGreaterThan(0);
    expect(openAtNotify()).toEqual([key]);

    const cleanup = stateOutput<{ cleanup: CleanupResult }>(record, 'CleanupAfterFailure').cleanup;
    expect(cleanup.aborted).toEqual([{ destination: 'primary', key, count: 1 }]);
    expect(cleanup.abortFailed).toEqual([]);
    expect(await s3.openMultipartUploads('orphans')).toEqual([]);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: 'orphans', Prefix: 'failed/' }));
    expect(listed.Contents ?? []).toEqual([]);

    // The mail went out before Cleanup, with the original failure, by both notifiers.
    const [mail, ...more] = await workspace.outbox();
    expect(more).toEqual([]);
    expect(mail!.headers.subject).toBe('[stepvault] main: backup FAILED in Upload (StorageError)');
    expect(mail!.body).toContain('ECONNREFUSED');
    expect(subjects.at(-1)).toBe(mail!.headers.subject);
  });

  it('a successful run aborts what an optional destination that failed left open', async () => {
    const workspace = await workspaceWith(
      {
        local: { type: 'filesystem', path: './backups' },
        offsite: s3Destination(s3, 'orphans', { prefix: 'optional', partSizeMB: 5, concurrency: 1, required: false }),
      },
      ['local', 'offsite'],
    );
    const { openAtNotify } = await crashUntilNotify();
    const record = await workspace.run('main');

    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.dump!.size).toBeGreaterThan(10 * MIB);
    expect(record.state.upload?.map((o) => [o.destination, o.status])).toEqual([
      ['local', 'stored'],
      ['offsite', 'failed'],
    ]);
    const key = `optional/${record.state.plan!.objectKey}`;
    expect(openAtNotify()).toEqual([key]);
    expect(record.state.cleanup).toMatchObject({
      aborted: [{ destination: 'offsite', key, count: 1 }],
      abortFailed: [],
    });
    expect(await s3.openMultipartUploads('orphans')).toEqual([]);
  });

  it('a store still down at Cleanup: the run reports what it could not abort and still fails with the original error', async () => {
    const workspace = await workspaceWith(
      { primary: s3Destination(s3, 'orphans', { prefix: 'down', partSizeMB: 5, concurrency: 1 }) },
      ['primary'],
    );
    const crash = await s3.crashAfterParts(1);
    try {
      const record = await workspace.run('main');
      expect(record).toMatchObject({ status: 'FAILED', failedState: 'Upload', error: 'StorageError' });
      const plan = stateOutput<{ plan: PlanResult }>(record, 'Plan').plan;
      const key = `down/${plan.objectKey}`;
      const cleanup = stateOutput<{ cleanup: CleanupResult }>(record, 'CleanupAfterFailure').cleanup;
      expect(cleanup.aborted).toEqual([]);
      expect(cleanup.abortFailed.map((f) => f.destination)).toEqual(['primary', 'primary']);
      expect(cleanup.abortFailed.map((f) => f.key).sort()).toEqual([key, `${key}.manifest.json`]);
      expect(cleanup.abortFailed[0]!.error).toMatch(
        /^StorageError: destination primary .*cannot list the open multipart uploads of.*ECONNREFUSED/,
      );
      expect(cleanup.removed).toHaveLength(1);
      expect(record.logs.some((l) => l.includes('cannot abort the open writes of the run'))).toBe(true);
    } finally {
      await crash.exited;
      await s3.restart();
    }
    // The next Cleanup of that run would close it; this test leaves it to the bucket's lifecycle rule.
    expect((await s3.openMultipartUploads('orphans')).length).toBe(1);
  });
});

describe('a store that accepts connections and never answers, at Cleanup', () => {
  it('the aborts give up within their budget and report it, so a silent store cannot time Cleanup out', async () => {
    const silent = await startSilentServer();
    try {
      const yaml = `destinations: { quiet: { type: s3, bucket: b, endpoint: "${silent.url}", accessKeyId: env:STEPVAULT_TEST_S3_KEY, secretAccessKey: env:STEPVAULT_TEST_S3_KEY } }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, staging: ${JSON.stringify(tmpdir())}, destinations: [quiet] }
`;
      const config = parseConfig(yaml, `orphans-${randomBytes(4).toString('hex')}`, tmpdir());
      const logs: string[] = [];
      const runtime = createRuntime(config, {
        logger: () => createJsonLogger({ level: 'debug', write: (line) => logs.push(line) }),
      });
      const id = `arn:aws:states:eu-west-1:123456789012:execution:backup:${randomBytes(4).toString('hex')}`;
      const planned = await plan(
        {
          request: { target: 'orders' },
          execution: { id, name: id.split(':').pop()!, startTime: new Date().toISOString() },
        },
        runtime,
      );
      const started = Date.now();
      const outcome = await closeOpenWrites(planned, runtime, 1500);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(silent.connections()).toBeGreaterThan(0);
      expect(outcome.aborted).toEqual([]);
      expect(outcome.failed.map((f) => f.destination)).toEqual(['quiet', 'quiet']);
      for (const failure of outcome.failed)
        expect(failure.error).toMatch(
          /^StorageError: gave up after 1.5 s: destination quiet \(s3:\/\/b\/orders\/.*cannot list the open multipart uploads of/,
        );
    } finally {
      await silent.close();
    }
  });

  it("the budget is 30 s at most, and a quarter of Cleanup's own time limit when that is shorter", () => {
    const runtimeWith = (functions: string) =>
      createRuntime(
        parseConfig(
          `${functions}destinations: { d: { type: filesystem, path: ./d } }\ntargets: { t: { engine: postgres, host: h, database: x, destinations: [d] } }\n`,
          `budget-${randomBytes(4).toString('hex')}`,
          tmpdir(),
        ),
        {
          logger: () => createJsonLogger({ level: 'error', write: () => undefined }),
        },
      );
    expect(abortBudgetMs(runtimeWith(''))).toBe(30_000);
    expect(abortBudgetMs(runtimeWith('deploy: { region: eu-west-1, functions: { cleanup: { timeout: 60 } } }\n'))).toBe(
      15_000,
    );
  });
});
