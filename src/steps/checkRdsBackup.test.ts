import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { ServerWritingDump } from '../contracts.ts';
import type { RdsTaskStatus } from '../dumpers/mssql-rds.ts';
import { checkRdsBackup } from './checkRdsBackup.ts';
import { plan } from './plan.ts';
import { execution, stepWorld } from './testing.ts';

// RDS's answer to rds_task_status is the only thing faked.
const rds = vi.hoisted(() => ({ status: { lifecycle: 'IN_PROGRESS', percent: 0, info: '' } as RdsTaskStatus }));
vi.mock('../dumpers/mssql-rds.ts', () => ({ rdsTaskStatus: async () => rds.status }));

const at = new Date('2026-11-22T03:00:07Z');

/** A run of an RDS for SQL Server target whose backup task RDS is writing into `mem`. */
async function rdsRun() {
  const world = await stepWorld();
  const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
  // The schema wants an s3 destination for rds mode; the step only needs a store to read from.
  const target = world.config.targets.orders!;
  world.config.targets.orders = {
    ...target,
    engine: 'mssql',
    mssql: { mode: 'rds', copyOnly: true, compression: true, verifyOnly: false, timeoutMinutes: 10 },
  };
  const key = `rds/${planned.objectKey}`;
  const dump: ServerWritingDump = {
    kind: 'server-writing',
    compression: 'mssql-compressed',
    tool: { name: 'rds_backup_database', version: '16.0' },
    serverVersion: '16.0',
    task: { taskId: 7, destination: 'mem', key, lifecycle: 'CREATED', percent: 0, attempts: 0, maxAttempts: 20 },
    startedAt: at.toISOString(),
  };
  return { world, input: { plan: planned, dump }, key };
}

describe('CheckRdsBackup', () => {
  it('sends a running task back to wait, with its progress and one more look counted', async () => {
    const { world, input } = await rdsRun();
    rds.status = { lifecycle: 'IN_PROGRESS', percent: 40, info: '' };
    const result = await checkRdsBackup(input, world.runtime);
    expect(result).toMatchObject({
      kind: 'server-writing',
      task: { lifecycle: 'IN_PROGRESS', percent: 40, attempts: 1 },
    });
    expect(result.size).toBeUndefined();
    expect(world.progress).toEqual([{ state: 'CheckRdsBackup', percent: 40 }]);
  });

  it('measures and hashes the object RDS wrote once the task succeeded', async () => {
    const { world, input, key } = await rdsRun();
    const body = Buffer.from('TAPE backup bytes');
    const file = path.join(world.staging, 'bak');
    await writeFile(file, body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    await (await world.storage('mem')).putFile(key, file, { size: body.length, sha256, metadata: {} });
    rds.status = { lifecycle: 'SUCCESS', percent: 100, info: '' };
    world.clock.now = new Date(at.getTime() + 120_000);
    const result = await checkRdsBackup(input, world.runtime);
    expect(result).toMatchObject({
      kind: 'server-written',
      size: body.length,
      sha256,
      durationSeconds: 120,
      task: { lifecycle: 'SUCCESS', percent: 100, attempts: 1 },
    });
  });

  it('fails with a DumpError when the task ended in error, with what RDS said', async () => {
    const { world, input } = await rdsRun();
    rds.status = { lifecycle: 'ERROR', percent: 12, info: 'Access Denied to the bucket\n' };
    await expect(checkRdsBackup(input, world.runtime)).rejects.toMatchObject({
      name: 'DumpError',
      message: 'RDS backup task 7 of orders ended ERROR: Access Denied to the bucket',
    });
  });

  it('fails with a DumpError when RDS reports success but the object is not there', async () => {
    const { world, input, key } = await rdsRun();
    rds.status = { lifecycle: 'SUCCESS', percent: 100, info: '' };
    await expect(checkRdsBackup(input, world.runtime)).rejects.toMatchObject({
      name: 'DumpError',
      message: `RDS reports task 7 done, but memory://mem/${key} is not there`,
    });
  });

  it('gives up on a task still running after mssql.timeoutMinutes, however few looks it took', async () => {
    const { world, input } = await rdsRun();
    rds.status = { lifecycle: 'IN_PROGRESS', percent: 90, info: '' };
    world.clock.now = new Date(at.getTime() + 10 * 60_000);
    await expect(checkRdsBackup(input, world.runtime)).rejects.toMatchObject({
      name: 'DumpError',
      message:
        'RDS backup task 7 of orders is still IN_PROGRESS (90%) after 10 minutes; raise mssql.timeoutMinutes or look at rds_task_status',
    });
  });
});
