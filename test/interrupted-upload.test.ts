/**
 * Ctrl-C during Upload: `stepvault run` closes what the run opened on its destinations before it
 * exits 130. Through the real CLI, the real state machine and the S3 test server, with the upload
 * stalled exactly where the test wants it: one destination's part uploads get no answer (an open
 * multipart upload), another's manifest write gets none (a dump there without its manifest), and a
 * third finishes (a complete backup, which must stay).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { closeInterruptedUpload } from '../src/local/interrupted-upload.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { plan } from '../src/steps/plan.ts';
import { CLI } from './helpers/cli.ts';
import { waitFor } from './helpers/faults.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { startSilentServer } from './helpers/silent-server.ts';
import { configFor, workspacePool } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_interrupted_upload');
const workspaces = workspacePool();
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server(['stalled', 'unfinished', 'complete']);
  await createDatabase(database);
  // Incompressible rows: a dump of more than one 5 MiB part, so it goes up as a multipart upload.
  await psql(
    database,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 150000) g`,
  );
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(database);
  await workspaces.removeAll();
});

async function keysIn(bucket: string, prefix: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

describe('stepvault run interrupted during Upload', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s aborts the open multipart upload, removes a dump without its manifest, keeps a complete backup, says so and exits %i',
    async (signal, code) => {
      // Each case under its own prefix: the buckets and their holds are shared.
      const prefix = `${signal}/`;
      const options = { partSizeMB: 5, concurrency: 1, prefix };
      const workspace = await workspaces.withConfig(
        configFor(
          { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
          {
            destinations: {
              stalled: s3Destination(s3, 'stalled', options),
              unfinished: s3Destination(s3, 'unfinished', options),
              complete: s3Destination(s3, 'complete', options),
            },
            defaults: { staging: './staging', destinations: ['stalled', 'unfinished', 'complete'], notify: ['desk'] },
          },
        ),
      );
      await s3.hold('stalled', 'parts');
      await s3.hold('unfinished', 'manifests');

      const heldBefore = await s3.held();
      const child = spawn(process.execPath, [CLI, 'run', '--config', workspace.configFile, '--target', 'main'], {
        cwd: workspace.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      // Stalled where the test wants it: a part and a manifest held, and the third destination done.
      const manifest = await waitFor(
        'both holds and a complete backup',
        async () =>
          (await s3.held()) >= heldBefore + 2 &&
          (await keysIn('complete', prefix)).find((k) => k.endsWith('.manifest.json')),
        90_000,
      );
      const key = manifest.slice(0, -'.manifest.json'.length);
      expect(await s3.openMultipartUploads('stalled')).toContain(key);
      expect(await keysIn('unfinished', prefix)).toEqual([key]);
      expect(await readdir(path.join(workspace.dir, 'staging'))).toHaveLength(1);

      child.kill(signal);
      const exitCode = await exited;

      expect(exitCode, stderr).toBe(code);
      expect(stdout).toContain(`Interrupted by ${signal} during Upload.`);
      expect(stdout).toMatch(/removed the run's staging folder .*staging\/main-/);
      expect(stdout).toContain('the upload had started: closing what it left on the destinations (at most 10 s)');
      expect(stdout).toContain(`stalled: aborted 1 open upload(s) of ${key}\n`);
      expect(stdout).toContain(`unfinished: removed s3://unfinished/${key} (no manifest: not a backup)\n`);
      expect(stdout).toContain(`complete: kept s3://complete/${key} (complete, with its manifest)\n`);
      expect(stdout).not.toContain('stalled: removed');
      expect(stdout).not.toContain('gave up');

      for (const bucket of ['stalled', 'unfinished', 'complete'])
        expect(await s3.openMultipartUploads(bucket)).toEqual([]);
      expect(await keysIn('stalled', prefix)).toEqual([]);
      expect(await keysIn('unfinished', prefix)).toEqual([]);
      expect(await keysIn('complete', prefix)).toEqual([key, manifest]);
      expect(await readdir(path.join(workspace.dir, 'staging'))).toEqual([]);
      // An interrupted run sends no mail.
      expect(await workspace.outbox()).toEqual([]);
    },
    150_000,
  );
});

describe('closing an interrupted Upload on a store that accepts connections and never answers', () => {
  it('gives up within its budget and says what may be left', async () => {
    const silent = await startSilentServer();
    try {
      const yaml = `destinations: { quiet: { type: s3, bucket: b, endpoint: "${silent.url}", accessKeyId: env:STEPVAULT_TEST_S3_KEY, secretAccessKey: env:STEPVAULT_TEST_S3_KEY } }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, staging: ${JSON.stringify(tmpdir())}, destinations: [quiet] }
`;
      const config = parseConfig(yaml, `interrupted-${randomBytes(4).toString('hex')}`, tmpdir());
      const runtime = createRuntime(config, {
        logger: () => createJsonLogger({ level: 'error', write: () => undefined }),
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
      const said = await closeInterruptedUpload(planned, runtime, 1500);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(silent.connections()).toBeGreaterThan(0);
      expect(said).toHaveLength(3);
      expect(said.filter((l) => l.startsWith(`  quiet: could not abort the open uploads of orders/`))).toHaveLength(2);
      expect(said.at(-1)).toBe(`  quiet: gave up after 1.5 s: ${planned.objectKey} may be there without its manifest`);
    } finally {
      await silent.close();
    }
  });
});
