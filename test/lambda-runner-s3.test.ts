/**
 * The lambda runner into a real S3 server: the dump streamed as a multipart upload into the first
 * bucket (nothing staged: the staging path is a file), copied to a second bucket by the server
 * and to a folder by streaming, restored from the copies and compared; and a destination that
 * fails mid-stream, which must leave no object, no manifest and no open multipart upload.
 */
import path from 'node:path';
import { zstdDecompressSync } from 'node:zlib';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, loadRichPostgres, psql, uniqueName } from './helpers/postgres.ts';
import {
  downloadObject,
  mariadbTarget,
  postgresTarget,
  retries,
  roundTrips,
  runnerWorkspace,
} from './helpers/runner-suite.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { type RunRecord, type Workspace, workspacePool } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_lambda_s3_pg');
const mariaSource = uniqueName('sv_lambda_s3_maria');
const big = uniqueName('sv_lambda_s3_big');
const restore = roundTrips();
const workspaces = workspacePool();
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server(['backups', 'copies', 'failing']);
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
  await createDatabase(big);
  // Incompressible rows: a dump of ~12 MB, several 5 MiB parts.
  await psql(
    big,
    `CREATE TABLE blobs AS SELECT g AS id, decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS b FROM generate_series(1, 250000) g`,
  );
});

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(pgSource);
  await dropDatabase(big);
  await dropMariaDatabase(mariaSource);
  await restore.dropAll();
  await workspaces.removeAll();
});

/** A lambda-runner config into S3 (then a second bucket and a folder); nothing can be staged. */
function s3Workspace(target: Record<string, unknown>, first = 'backups'): Promise<Workspace> {
  return runnerWorkspace(workspaces, 'lambda', target, {
    primary: s3Destination(s3, first, { prefix: 'db', partSizeMB: 5 }),
    second: s3Destination(s3, 'copies'),
    local: { type: 'filesystem', path: './backups' },
  });
}

async function objectKeys(bucket: string): Promise<string[]> {
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

function copiedLog(record: RunRecord): { destination?: string; method?: string }[] {
  return record.logs
    .map((line) => JSON.parse(line) as { message?: string; destination?: string; method?: string })
    .filter((line) => line.message === 'copied');
}

describe('runner lambda into S3', () => {
  it('PostgreSQL: streamed into the first bucket, copied by the server and by streaming, restored identical', async () => {
    const workspace = await s3Workspace(postgresTarget(pgSource));
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const dump = record.state.dump!;
    expect(dump).toMatchObject({ kind: 'streamed', destination: 'primary', key: `db/${record.state.plan!.objectKey}` });
    expect(record.state.upload!.map((o) => o.status)).toEqual(['stored', 'stored', 'stored']);
    const key = record.state.plan!.objectKey;
    expect(await objectKeys('backups')).toEqual([`db/${key}`, `db/${key}.manifest.json`]);
    expect(await objectKeys('copies')).toEqual([key, `${key}.manifest.json`]);
    expect(await s3.openMultipartUploads('backups')).toEqual([]);
    expect(await s3.openMultipartUploads('copies')).toEqual([]);
    expect(copiedLog(record).map((l) => [l.destination, l.method])).toEqual(
      expect.arrayContaining([
        ['second', expect.stringMatching(/server-side|streamed/)],
        ['local', 'streamed'],
      ]),
    );
    const file = path.join(workspace.dir, 'restored.dump');
    const bytes = await downloadObject(s3, 'copies', key, file);
    expect(bytes.length).toBe(dump.size);
    await restore.postgres(file, pgSource);
  });

  it('MariaDB: streamed into the first bucket and copied, restored identical', async () => {
    const workspace = await s3Workspace(mariadbTarget(mariaSource));
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const key = record.state.plan!.objectKey;
    expect(key).toMatch(/\.sql\.zst$/);
    const file = path.join(workspace.dir, 'restored.sql.zst');
    const sql = zstdDecompressSync(await downloadObject(s3, 'copies', key, file)).toString('utf8');
    expect(sql.trimEnd()).toMatch(/-- Dump completed on .*$/);
    await restore.mariadb(file, mariaSource);
  });

  it('a bucket that fails mid-stream publishes nothing and leaves no open multipart upload', async () => {
    const workspace = await s3Workspace(postgresTarget(big), 'failing');
    // Every attempt of StreamDump (the first and its three retries) has its parts refused.
    await s3.failNextUploads(4);
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    expect(record.failedState).toBe('StreamDump');
    expect(record.error, record.cause).toBe('StorageError');
    expect(record.cause).toMatch(/destination primary \(s3:\/\/failing\/db\/main\/.*\): /);
    expect(retries(record, 'StreamDump')).toBe(3);
    expect(await objectKeys('failing')).toEqual([]);
    expect(await s3.openMultipartUploads('failing')).toEqual([]);
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]!.headers.subject).toContain('backup FAILED in StreamDump (StorageError)');
  });
});
