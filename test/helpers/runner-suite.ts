/**
 * What the runner suites (lambda, lambda into S3, fargate, efs into S3) share: a workspace on a
 * runner (for the streaming ones, a staging path that is a file: a run that stages anything fails),
 * the states a run went through, the files a destination folder holds, and the proof of a round
 * trip: a dump restored into a fresh database whose contents equal the source's.
 */
import { writeFile } from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariaInventory,
  mariaTableDigests,
  restoreSqlDump,
} from './mariadb.ts';
import { createDatabase, dropDatabase, objectInventory, PG, pgRestore, tableDigests, uniqueName } from './postgres.ts';
import type { S3TestServer } from './s3-server.ts';
import { configFor, type RunRecord, type Workspace, type workspacePool } from './workspace.ts';

export const postgresTarget = (database: string) => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  database,
});

export const mariadbTarget = (database: string) => ({
  engine: 'mariadb',
  host: MARIADB.host,
  port: MARIADB.port,
  user: MARIADB.user,
  database,
});

/**
 * A config for target `main` on `runner`, its destinations in the order given (the first is where
 * lambda and fargate stream the dump). For those two the staging path is a file, so nothing can
 * be staged; efs stages in the workspace's `staging` folder.
 */
export async function runnerWorkspace(
  pool: ReturnType<typeof workspacePool>,
  runner: 'lambda' | 'fargate' | 'efs',
  target: Record<string, unknown>,
  destinations: Record<string, Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): Promise<Workspace> {
  const streams = runner !== 'efs';
  const workspace = await pool.withConfig(
    configFor(
      { ...target, runner },
      {
        defaults: {
          staging: streams ? './not-a-folder/staging' : './staging',
          destinations: Object.keys(destinations),
          notify: ['desk'],
        },
        destinations,
        ...extra,
      },
    ),
  );
  if (streams) await writeFile(path.join(workspace.dir, 'not-a-folder'), 'staging here would fail');
  return workspace;
}

/** The top-level states the run entered, in order. */
export function entered(record: RunRecord): string[] {
  return record.events.filter((e) => e.type === 'state-entered' && e.index === undefined).map((e) => e.state);
}

/** How many times the state was retried. */
export function retries(record: RunRecord, state: string): number {
  return record.events.filter((e) => e.type === 'state-retried' && e.state === state).length;
}

/** Every file under a destination folder, temporary ones included. */
export async function filesIn(workspace: Workspace, folder: string): Promise<string[]> {
  const entries = await readdir(path.join(workspace.dir, folder), { recursive: true, withFileTypes: true }).catch(
    () => [],
  );
  return entries.filter((e) => e.isFile()).map((e) => path.relative(workspace.dir, path.join(e.parentPath, e.name)));
}

/** An object of the S3 test server, written to a file (to restore it as the user would after a download). */
export async function downloadObject(s3: S3TestServer, bucket: string, key: string, file: string): Promise<Buffer> {
  const body = (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
  const bytes = await buffer(body as NodeJS.ReadableStream);
  await writeFile(file, bytes);
  return bytes;
}

/**
 * Restores dumps into fresh databases and compares their contents with the source's (every
 * table's rows, every object's definition); `dropAll` removes the databases it made.
 */
export function roundTrips() {
  const made: { engine: 'postgres' | 'mariadb'; name: string }[] = [];
  return {
    async postgres(file: string, source: string): Promise<void> {
      const database = uniqueName('sv_restored_pg');
      made.push({ engine: 'postgres', name: database });
      await createDatabase(database);
      await pgRestore(file, database);
      const [before, after] = await Promise.all([tableDigests(source), tableDigests(database)]);
      expect(Object.keys(before).length).toBeGreaterThan(0);
      expect(after).toEqual(before);
      expect(await objectInventory(database)).toEqual(await objectInventory(source));
    },
    async mariadb(file: string, source: string): Promise<void> {
      const database = uniqueName('sv_restored_maria');
      made.push({ engine: 'mariadb', name: database });
      await createMariaDatabase(database);
      await restoreSqlDump(file, database);
      const [before, after] = await Promise.all([mariaTableDigests(source), mariaTableDigests(database)]);
      expect(Object.keys(before).length).toBeGreaterThan(0);
      expect(after).toEqual(before);
      expect(await mariaInventory(database)).toEqual(await mariaInventory(source));
    },
    async dropAll(): Promise<void> {
      for (const { engine, name } of made.splice(0))
        await (engine === 'postgres' ? dropDatabase(name) : dropMariaDatabase(name)).catch(() => undefined);
    },
  };
}
