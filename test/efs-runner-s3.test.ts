/**
 * The efs runner into a real S3 server, the combinations its folder suites do not cover: the dump
 * staged, uploaded into the bucket as the first destination and into a folder, the object
 * downloaded, restored into a fresh database and compared, for PostgreSQL and MariaDB; and the
 * staging folder left empty.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, loadRichPostgres, uniqueName } from './helpers/postgres.ts';
import {
  downloadObject,
  entered,
  mariadbTarget,
  postgresTarget,
  roundTrips,
  runnerWorkspace,
} from './helpers/runner-suite.ts';
import { s3Destination, type S3TestServer, startS3Server } from './helpers/s3-server.ts';
import { type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_efs_s3_pg');
const mariaSource = uniqueName('sv_efs_s3_maria');
const restore = roundTrips();
const workspaces = workspacePool();
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server(['backups']);
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
});

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  await restore.dropAll();
  await workspaces.removeAll();
});

function efsWorkspace(target: Record<string, unknown>, prefix: string): Promise<Workspace> {
  return runnerWorkspace(workspaces, 'efs', target, {
    primary: s3Destination(s3, 'backups', { prefix }),
    local: { type: 'filesystem', path: './backups' },
  });
}

async function expectStaged(workspace: Workspace, record: RunRecord, prefix: string): Promise<string> {
  expect(record.status, record.cause).toBe('SUCCEEDED');
  expect(entered(record).slice(0, 4)).toEqual(['IsDoctor', 'Plan', 'ChooseRunner', 'Dump']);
  expect(entered(record)).toContain('Upload');
  expect(record.state.plan).toMatchObject({ runner: 'efs', runnerReason: 'targets.main.runner is efs' });
  expect(record.state.upload!.map((o) => o.status)).toEqual(['stored', 'stored']);
  expect(await s3.openMultipartUploads('backups')).toEqual([]);
  expect(await readdir(path.join(workspace.dir, 'staging')).catch(() => [])).toEqual([]);
  const stored = storedBackup(record, 0);
  expect(stored).toMatchObject({ destination: 'primary', key: expect.stringMatching(new RegExp(`^${prefix}/main/`)) });
  const file = path.join(workspace.dir, path.basename(stored.key));
  const bytes = await downloadObject(s3, 'backups', stored.key, file);
  expect(bytes.length).toBe(record.state.dump!.size);
  return file;
}

describe('runner efs into S3', () => {
  it('PostgreSQL: staged, uploaded into the bucket, downloaded and restored identical', async () => {
    const workspace = await efsWorkspace(postgresTarget(pgSource), 'efs-pg');
    const record = await workspace.run('main');
    await restore.postgres(await expectStaged(workspace, record, 'efs-pg'), pgSource);
  });

  it('MariaDB: staged, uploaded into the bucket, downloaded and restored identical', async () => {
    const workspace = await efsWorkspace(mariadbTarget(mariaSource), 'efs-maria');
    const record = await workspace.run('main');
    await restore.mariadb(await expectStaged(workspace, record, 'efs-maria'), mariaSource);
  });
});
