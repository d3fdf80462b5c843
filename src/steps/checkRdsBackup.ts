/**
 * CheckRdsBackup: one look at an RDS for SQL Server backup task. While it runs, the dump goes back
 * to the Wait state with its progress; when it succeeds, the object RDS wrote is measured and
 * hashed, so the manifest and Verify describe it like any other dump; an error, or a task that
 * outlives its timeout, fails the run.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getConnectedTarget } from '../config/load.ts';
import type { CheckRdsBackupInput, DumpResult, ServerWrittenDump } from '../contracts.ts';
import { dumperFor } from '../dumpers/registry.ts';
import { DigestStream } from '../streams/digest.ts';
import { DumpError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';

export async function checkRdsBackup(input: CheckRdsBackupInput, runtime: Runtime): Promise<DumpResult> {
  const { plan, dump } = input;
  // SQL Server: configured by host and database, never by url (the schema holds it to that).
  const target = getConnectedTarget(runtime.config, plan.target);
  const dumper = dumperFor(target);
  if (dump.kind !== 'server-writing' || dumper.writes !== 'destination') {
    throw new DumpError(`CheckRdsBackup ran for a dump of ${target.name} that no server is writing`);
  }
  const { task } = dump;
  const password =
    target.password === undefined
      ? undefined
      : await runtime.secrets.resolve(target.password, `targets.${target.name}.password`);
  const status = await dumper.status(target, password, task.taskId);
  const attempts = task.attempts + 1;
  runtime.log.info('server backup task', {
    runId: plan.runId,
    target: plan.target,
    state: 'CheckRdsBackup',
    taskId: task.taskId,
    lifecycle: status.lifecycle,
    percent: status.percent,
    info: status.info,
    attempts,
  });
  runtime.progress({ state: 'CheckRdsBackup', percent: status.percent });

  if (status.state === 'failed') {
    throw new DumpError(
      `RDS backup task ${task.taskId} of ${target.name} ended ${status.lifecycle}: ${status.info.trim() || 'no task_info'}`,
    );
  }
  if (status.state === 'running') {
    // Bounded in time, not only in looks: slow looks must not stretch the loop past the
    // dumper's timeout, or the execution's own timeout (derived from it) could come first.
    const elapsedSeconds = (runtime.now().getTime() - Date.parse(dump.startedAt)) / 1000;
    const limit = dumper.timeoutSeconds(target);
    if (attempts >= task.maxAttempts || elapsedSeconds >= limit) {
      throw new DumpError(
        `RDS backup task ${task.taskId} of ${target.name} is still ${status.lifecycle} (${status.percent}%) after ${limit / 60} minutes; ${dumper.timeoutHint}`,
      );
    }
    return { ...dump, task: { ...task, lifecycle: status.lifecycle, percent: status.percent, attempts } };
  }

  const storage = await storageFor(runtime.config, task.destination, runtime.secrets);
  const body = await storage.get(task.key);
  if (!body) throw new DumpError(`RDS reports task ${task.taskId} done, but ${storage.locate(task.key)} is not there`);
  const digest = new DigestStream();
  await pipeline(body, digest, new Writable({ write: (_chunk, _encoding, done) => done() }));
  const finished = runtime.now();
  const written: ServerWrittenDump = {
    kind: 'server-written',
    compression: dump.compression,
    tool: dump.tool,
    serverVersion: dump.serverVersion,
    startedAt: dump.startedAt,
    size: digest.bytes,
    sha256: digest.hex(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - Date.parse(dump.startedAt)) / 1000,
    task: { ...task, lifecycle: status.lifecycle, percent: 100, attempts },
  };
  return written;
}
