/**
 * Plan: decide everything about the run before touching the database. Resolves the target,
 * checks that its secrets resolve (and forgets them), names the run, the file and the key, and
 * decides where the dump runs (the runner; see src/runners/).
 * A bad config fails here, fast, with nothing dumped.
 */
import path from 'node:path';
import { configuredConnection, getTarget } from '../config/load.ts';
import type { PlanInput, PlanResult } from '../contracts.ts';
import { dumpExtension } from '../dumpers/extension.ts';
import { AGE_EXTENSION } from '../encryption/recipient.ts';
import { ConfigError } from '../errors.ts';
import { dumpFileName, objectKey, runId } from '../backups/naming.ts';
import { chooseRunner } from '../runners/choose.ts';
import { connectTarget } from './target-connection.ts';
import type { Runtime } from '../runtime.ts';

export async function plan(input: PlanInput, runtime: Runtime): Promise<PlanResult> {
  const targetName = input.request?.target;
  if (typeof targetName !== 'string' || targetName === '') {
    throw new ConfigError('the execution input must name a target, e.g. {"target": "orders"}');
  }
  const target = getTarget(runtime.config, targetName);
  // The connection's secrets must resolve (a URL must also read and agree with the config); the
  // database's name goes into the run's facts, nothing else of it.
  const connected = target.url
    ? (await connectTarget(target, runtime.secrets)).target.database
    : configuredConnection(target).database;
  // A whole server: what the config asked for; the manifest's layout lists what was dumped.
  const database =
    target.databases === undefined ? connected : target.databases === 'all' ? 'all' : target.databases.join(',');
  if (!target.url && target.password !== undefined) {
    await runtime.secrets.resolve(target.password, `targets.${target.name}.password`);
  }

  const startedAt = parseStartTime(input.execution.startTime, runtime.now);
  const extension = `${dumpExtension(target)}${target.encryption ? AGE_EXTENSION : ''}`;
  const id = runId(target.name, startedAt, input.execution.id);
  const runner = await chooseRunner(target, runtime);
  const result: PlanResult = {
    runId: id,
    target: target.name,
    engine: target.engine,
    database,
    executionId: input.execution.id,
    startedAt: startedAt.toISOString(),
    timezone: target.timezone,
    stagingDir: path.join(target.staging, id),
    fileName: dumpFileName(target.name, startedAt, input.execution.id, extension),
    objectKey: objectKey(target.name, startedAt, input.execution.id, extension),
    destinations: target.destinations.map((name) => {
      const destination = runtime.config.destinations[name]!;
      return { name, type: destination.type, required: destination.required ?? true };
    }),
    runner: runner.runner,
    runnerReason: runner.reason,
  };
  runtime.log.info('planned', {
    runId: id,
    target: target.name,
    key: result.objectKey,
    destinations: target.destinations,
    runner: runner.runner,
    runnerReason: runner.reason,
  });
  return result;
}

function parseStartTime(value: string | undefined, now: () => Date): Date {
  const parsed = value ? new Date(value) : now();
  return Number.isNaN(parsed.getTime()) ? now() : parsed;
}
