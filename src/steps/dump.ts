/**
 * Dump: run the engine's dump tool into the run's staging folder. Size and SHA-256 come from
 * the bytes as they are written; an incomplete dump is deleted and reported, never handed on.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { getTarget } from '../config/load.ts';
import type { DumpResult, PlanResult, ServerWritingDump, StagedDump } from '../contracts.ts';
import type { ConnectedTarget } from '../config/load.ts';
import type { DestinationDumper } from '../dumpers/types.ts';
import { withPrefix } from '../backups/naming.ts';
import { dumperFor } from '../dumpers/registry.ts';
import type { Runtime } from '../runtime.ts';
import { executionDefinition, RDS_POLL_SECONDS } from '../statemachine/execution-timeout.ts';
import { longestRunMs, removeStaleRuns } from './stale-staging.ts';
import { refusePseudoFilesystem } from '../storage/pseudo-filesystem.ts';
import { connectTarget } from './target-connection.ts';
import { encryptionKeys } from '../encryption/keys.ts';

export async function dump(plan: PlanResult, runtime: Runtime): Promise<DumpResult> {
  const { target, password } = await connectTarget(getTarget(runtime.config, plan.target), runtime.secrets);
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Dump' });

  const dumper = dumperFor(target);
  if (dumper.writes === 'destination') return startServerBackup(plan, target, password, dumper, runtime);

  // Private to the run — except that SQL Server writes its .bak into it itself, as its own
  // account, which must share the folder's group.
  await refusePseudoFilesystem(plan.stagingDir, `targets.${target.name}.staging`);
  const stale = await removeStaleRuns(path.dirname(plan.stagingDir), {
    maxAgeMs: longestRunMs(executionDefinition(runtime.config)),
    keep: plan.runId,
  });
  if (stale.length > 0) log.warn('stale staging removed: runs that never reached Cleanup', { folders: stale });
  await mkdir(plan.stagingDir, { recursive: true, mode: dumper.serverWritesFile ? 0o770 : 0o700 });
  const file = path.join(plan.stagingDir, plan.fileName);
  const encryption = await encryptionKeys(target, runtime.secrets);
  const started = runtime.now();
  log.info('dump started', { engine: target.engine, host: target.host, database: target.database });
  try {
    const output = await dumper.dump({
      target,
      ...(password !== undefined && { password }),
      ...(encryption && { encryption }),
      file,
      onProgress: (progress) => runtime.progress({ state: 'Dump', ...progress }),
      onWarning: (message) => log.warn(message),
    });
    const finished = runtime.now();
    const result: StagedDump = {
      kind: 'staged',
      file,
      size: output.size,
      sha256: output.sha256,
      compression: output.compression,
      ...(output.compressionLevel !== undefined && { compressionLevel: output.compressionLevel }),
      tool: output.tool,
      serverVersion: output.serverVersion,
      ...(output.rowCounts && { rowCounts: output.rowCounts }),
      ...(output.layout && { layout: output.layout }),
      ...(output.encryption && { encryption: output.encryption }),
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    };
    log.info('dump finished', { size: result.size, sha256: result.sha256, seconds: result.durationSeconds });
    return result;
  } catch (error) {
    // A retry starts from nothing, and a failed dump must never be mistaken for a good one.
    await rm(file, { force: true });
    throw error;
  }
}

/**
 * A server that writes its backup into a destination itself: start the task; the state machine polls it (see
 * checkRdsBackup.ts).
 */
async function startServerBackup(
  plan: PlanResult,
  target: ConnectedTarget,
  password: string | undefined,
  dumper: DestinationDumper,
  runtime: Runtime,
): Promise<ServerWritingDump> {
  // The schema holds such a target to exactly one destination.
  const destinationName = target.destinations[0]!;
  const config = runtime.config.destinations[destinationName]!;
  const key = withPrefix(config.prefix, plan.objectKey);
  const started = runtime.now();
  const { taskId, ...facts } = await dumper.start({
    target,
    ...(password !== undefined && { password }),
    destination: { name: destinationName, config },
    key,
  });
  runtime.log.info('server backup task started', {
    runId: plan.runId,
    target: plan.target,
    state: 'Dump',
    taskId,
    key,
  });
  return {
    kind: 'server-writing',
    ...facts,
    task: {
      taskId,
      destination: destinationName,
      key,
      lifecycle: 'CREATED',
      percent: 0,
      attempts: 0,
      maxAttempts: Math.ceil(dumper.timeoutSeconds(target) / RDS_POLL_SECONDS),
    },
    startedAt: started.toISOString(),
  };
}
