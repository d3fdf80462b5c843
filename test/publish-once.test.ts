/**
 * Two runs of one target never overwrite each other: EventBridge Scheduler delivers at least
 * once, and two people may press the button together. Every run publishes under its own key, a
 * publish never replaces what is stored, and a retried Upload finds its own earlier attempt.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, targetPrefix } from '../src/backups/listing.ts';
import type { Config } from '../src/config/load.ts';
import { loadConfig } from '../src/config/load.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import type { StagedDump } from '../src/contracts.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { plan } from '../src/steps/plan.ts';
import { upload } from '../src/steps/upload.ts';
import { storageFor } from '../src/storage/registry.ts';
import { runCli, slowClockEnv } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';
import { configFor, workspacePool, storedBackup, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_once');
const target = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };
let s3: S3TestServer;
const workspaces = workspacePool();

beforeAll(async () => {
  s3 = await startS3Server(['once']);
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g`);
});

afterAll(async () => {
  await s3?.stop();
  await dropDatabase(database);
  await workspaces.removeAll();
});

const workspaceWith = workspaces.withConfig;

async function backupsIn(
  config: Config,
  destination: string,
): Promise<{ key: string; runId: string; sha256: string }[]> {
  const storage = await storageFor(config, destination, new SecretResolver());
  const backups = await listBackups(storage, targetPrefix(config.destinations[destination]?.prefix, 'main'), 'main');
  return backups.map((b) => ({ key: b.key, runId: b.manifest.runId, sha256: b.manifest.sha256 }));
}

describe('two runs of one target in the same second', () => {
  it('both succeed and both backups and manifests survive, on a folder and in a bucket', async () => {
    const workspace = await workspaceWith(
      configFor(target, {
        destinations: {
          local: { type: 'filesystem', path: './backups', prefix: 'db' },
          bucket: s3Destination(s3, 'once', { prefix: 'same-second' }),
        },
        defaults: { staging: './staging', destinations: ['local', 'bucket'], notify: ['desk'] },
      }),
    );
    // One clock for both: the runs start at the same instant, as two deliveries of one schedule tick.
    const now = () => new Date('2026-11-22T03:00:00.250Z');
    const records = await Promise.all([workspace.run('main', { now }), workspace.run('main', { now })]);
    expect(records.map((r) => [r.status, r.cause])).toEqual([
      ['SUCCEEDED', undefined],
      ['SUCCEEDED', undefined],
    ]);
    expect(records[0]!.state.plan!.objectKey).not.toBe(records[1]!.state.plan!.objectKey);

    const config = loadConfig(workspace.configFile);
    for (const [index, destination] of ['local', 'bucket'].entries()) {
      const keys = records.map((r) => storedBackup(r, index).key);
      const stored = await backupsIn(config, destination);
      expect(stored.map((b) => b.key).sort()).toEqual([...keys].sort());
      for (const record of records) {
        const own = stored.find((b) => b.runId === record.state.plan!.runId)!;
        expect(own).toMatchObject({ key: storedBackup(record, index).key, sha256: record.state.dump!.sha256 });
      }
    }
  });

  it('two `stepvault run` started together both exit 0, each with its own backup and manifest', async () => {
    const workspace = await workspaceWith(configFor(target));
    const config = loadConfig(workspace.configFile);
    // Two real clocks need not read the same second on a busy machine: both processes get a clock
    // that starts at the same instant and barely moves, so the pair always starts in one second.
    const env = slowClockEnv(new Date('2026-11-22T03:00:00.000Z'));
    const results = await Promise.all(
      [0, 1].map(() =>
        runCli(['run', '--config', workspace.configFile, '--target', 'main'], { cwd: workspace.dir, env }),
      ),
    );
    expect(results.map((r) => [r.code, r.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    const added = await backupsIn(config, 'local');
    expect(added).toHaveLength(2);
    // Each run printed where its own backup went, and that backup is there with its manifest.
    for (const result of results) {
      const mine = added.filter((b) => result.stdout.includes(path.basename(b.key)));
      expect(mine).toHaveLength(1);
      const manifest = JSON.parse(
        await readFile(path.join(workspace.dir, 'backups', `${mine[0]!.key}.manifest.json`), 'utf8'),
      );
      expect(manifest.key).toBe(mine[0]!.key);
    }
    expect(added.map((b) => /-(\d{8}T\d{6}Z)-/.exec(b.runId)?.[1])).toEqual(['20261122T030000Z', '20261122T030000Z']);
  });
});

describe('a retried Upload', () => {
  async function planned(workspace: Workspace) {
    const runtime = createRuntime(loadConfig(workspace.configFile), {
      logger: () => createJsonLogger({ write: () => undefined }),
    });
    const result = await plan(
      {
        request: { target: 'main' },
        execution: { id: `arn:exec:${workspace.dir}`, name: 'retry', startTime: '2026-11-22T03:00:00Z' },
      },
      runtime,
    );
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(result.stagingDir, { recursive: true });
    const file = path.join(result.stagingDir, result.fileName);
    await writeFile(file, 'not really a dump, but bytes with a checksum\n');
    const { createHash } = await import('node:crypto');
    const body = await readFile(file);
    const dump: StagedDump = {
      kind: 'staged',
      file,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      compression: 'custom',
      tool: { name: 'pg_dump', version: '18.1' },
      serverVersion: '18.1',
      startedAt: '2026-11-22T03:00:00Z',
      finishedAt: '2026-11-22T03:00:01Z',
      durationSeconds: 1,
    };
    return { runtime, plan: result, dump };
  }

  it.each([
    ['a folder', { type: 'filesystem', path: './backups' }],
    ['a bucket', 'bucket'],
  ])(
    'finds its own earlier attempt in %s and counts it as stored; another run’s manifest there is refused',
    async (_where, destination) => {
      const workspace = await workspaceWith(
        configFor(target, {
          destinations: {
            primary: destination === 'bucket' ? s3Destination(s3, 'once', { prefix: 'retry' }) : destination,
          },
          defaults: { destinations: ['primary'] },
        }),
      );
      const { runtime, plan: run, dump } = await planned(workspace);
      const input = { plan: run, dump, destination: run.destinations[0]! };
      const first = await upload(input, runtime);
      // The state machine retries the step (the first attempt's answer was lost): same key, same bytes.
      const second = await upload(input, runtime);
      expect(second).toMatchObject({
        status: 'stored',
        key: first.key,
        manifestKey: first.manifestKey,
        sha256: dump.sha256,
      });
      const stored = await backupsIn(loadConfig(workspace.configFile), 'primary');
      expect(stored).toEqual([{ key: first.key, runId: run.runId, sha256: dump.sha256 }]);

      // Another execution whose names collide is refused, and the stored backup stays as it was.
      await expect(
        upload({ ...input, plan: { ...run, executionId: 'arn:exec:someone-else' } }, runtime),
      ).rejects.toMatchObject({
        name: 'ObjectExistsError',
        message: expect.stringContaining('nothing was replaced'),
      });
      expect(await backupsIn(loadConfig(workspace.configFile), 'primary')).toEqual(stored);
    },
  );
});
