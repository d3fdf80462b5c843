/**
 * CheckRdsBackup: one look at an RDS for SQL Server backup task. While it runs, the dump goes back
 * to the Wait state with its progress; when it succeeds, the object RDS wrote is measured and
 * hashed, so the manifest and Verify describe it like any other dump; an error, or a task that
 * outlives its timeout, fails the run.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getTarget } from '../config/load.ts';
import type { CheckRdsBackupInput, DumpResult } from '../contracts.ts';
import { rdsTaskStatus } from '../dumpers/mssql-rds.ts';
import { DigestStream } from '../dumpers/stream.ts';
import { DumpError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';

export async function checkRdsBackup(input: CheckRdsBackupInput, runtime: Runtime): Promise<DumpResult> {
  const { plan, dump } = input;
  const task = dump.rds;
  if (!task) throw new DumpError('CheckRdsBackup ran for a dump that is not an RDS backup task');
  const target = getTarget(runtime.config, plan.target);
  const password = target.password === undefined ? undefined : await runtime.secrets.resolve(target.password, `targets.${target.name}.password`);
  const status = await rdsTaskStatus(target, password, task.taskId);
  const attempts = task.attempts + 1;
  runtime.log.info('RDS backup task', { runId: plan.runId, target: plan.target, state: 'CheckRdsBackup', taskId: task.taskId, ...status, attempts });
  runtime.progress({ state: 'CheckRdsBackup', percent: status.percent });

  if (status.lifecycle === 'ERROR' || status.lifecycle === 'CANCELLED') {
    throw new DumpError(`RDS backup task ${task.taskId} of ${target.name} ended ${status.lifecycle}: ${status.info.trim() || 'no task_info'}`);
  }
  if (status.lifecycle !== 'SUCCESS') {
    // Bounded in time, not only in looks: slow looks must not stretch the loop past
    // timeoutMinutes, or the execution's own timeout (derived from it) could come first.
    const elapsedSeconds = (runtime.now().getTime() - Date.parse(dump.startedAt)) / 1000;
    if (attempts >= task.maxAttempts || elapsedSeconds >= target.mssql!.timeoutMinutes * 60) {
      throw new DumpError(`RDS backup task ${task.taskId} of ${target.name} is still ${status.lifecycle} (${status.percent}%) after ${target.mssql!.timeoutMinutes} minutes; raise mssql.timeoutMinutes or look at rds_task_status`);
    }
    return { ...dump, rds: { ...task, lifecycle: status.lifecycle, percent: status.percent, attempts } };
  }

  const storage = await storageFor(runtime.config, task.destination, runtime.secrets);
  const body = await storage.get(task.key);
  if (!body) throw new DumpError(`RDS reports task ${task.taskId} done, but ${storage.locate(task.key)} is not there`);
  const digest = new DigestStream();
  await pipeline(body, digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  const finished = runtime.now();
  return {
    ...dump,
    size: digest.bytes,
    sha256: digest.hex(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - Date.parse(dump.startedAt)) / 1000,
    rds: { ...task, lifecycle: status.lifecycle, percent: 100, attempts },
  };
}
