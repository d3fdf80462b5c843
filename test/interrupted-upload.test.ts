/**
 * Ctrl-C during Upload: `stepvault run` closes what the run opened on its destinations before it
 * exits 130. Through the real CLI, the real state machine and the S3 test server, with the upload
 * stalled exactly where the test wants it: one destination's part uploads get no answer (an open
 * multipart upload), another's manifest write gets none (a dump there without its manifest), and a
 * third finishes (a complete backup, which must stay).
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.ts';
import { waitFor } from './helpers/faults.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { configFor, workspacePool } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_interrupted_upload');
const workspaces = workspacePool();
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server(['stalled', 'unfinished', 'complete']);
  await createDatabase(database);
  // Incompressible rows: a dump of more than one 5 MiB part, so it goes up as a multipart upload.
  await psql(database, `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 150000) g`);
}, 120_000);

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(database);
  await workspaces.removeAll();
});

async function keysIn(bucket: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

describe('stepvault run interrupted during Upload', () => {
  it('aborts the open multipart upload, removes a dump without its manifest, keeps a complete backup, says so and exits 130', async () => {
    const options = { partSizeMB: 5, concurrency: 1 };
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

    const child = spawn(process.execPath, [CLI, 'run', '--config', workspace.configFile, '--target', 'main'], { cwd: workspace.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    // Stalled where the test wants it: a part and a manifest held, and the third destination done.
    const manifest = await waitFor(
      'both holds and a complete backup',
      async () => (await s3.held()) >= 2 && (await keysIn('complete')).find((k) => k.endsWith('.manifest.json')),
      90_000,
    );
    const key = manifest.slice(0, -'.manifest.json'.length);
    expect(await s3.openMultipartUploads('stalled')).toEqual([key]);
    expect(await keysIn('unfinished')).toEqual([key]);
    expect(await readdir(path.join(workspace.dir, 'staging'))).toHaveLength(1);

    child.kill('SIGINT');
    const exitCode = await exited;

    expect(exitCode, stderr).toBe(130);
    expect(stdout).toContain('Interrupted by SIGINT during Upload.');
    expect(stdout).toMatch(/removed the run's staging folder .*staging\/main-/);
    expect(stdout).toContain('the upload had started: closing what it left on the destinations (at most 10 s)');
    expect(stdout).toContain(`stalled: aborted 1 open upload(s) of ${key}\n`);
    expect(stdout).toContain(`unfinished: removed s3://unfinished/${key} (no manifest: not a backup)\n`);
    expect(stdout).toContain(`complete: kept s3://complete/${key} (complete, with its manifest)\n`);
    expect(stdout).not.toContain('stalled: removed');
    expect(stdout).not.toContain('gave up');

    for (const bucket of ['stalled', 'unfinished', 'complete']) expect(await s3.openMultipartUploads(bucket)).toEqual([]);
    expect(await keysIn('stalled')).toEqual([]);
    expect(await keysIn('unfinished')).toEqual([]);
    expect(await keysIn('complete')).toEqual([key, manifest]);
    expect(await readdir(path.join(workspace.dir, 'staging'))).toEqual([]);
    // An interrupted run sends no mail.
    expect(await workspace.outbox()).toEqual([]);
  }, 150_000);
});
