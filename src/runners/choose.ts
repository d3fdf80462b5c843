/**
 * The runner of one run, as Plan decides it: the target's own, or for `runner: auto` the one its
 * last dump calls for. A dump that took longer than `runnerAuto.fargateAbove` of the Lambda's time
 * limit moves to fargate, so a database that grows moves over by itself; below that share it runs
 * where the default rule puts it (src/runners/default.ts).
 */
import type { Target } from '../config/load.ts';
import { functionTimeouts } from '../statemachine/execution-timeout.ts';
import { formatSeconds } from '../text/format.ts';
import { readManifest } from '../backups/listing.ts';
import { MANIFEST_SUFFIX, withPrefix } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import type { RunnerDecision } from './default.ts';
import type { Runner } from './types.ts';

export async function chooseRunner(target: Target, runtime: Runtime): Promise<RunnerDecision<Runner>> {
  if (target.runner !== 'auto') return { runner: target.runner, reason: target.runnerReason };
  // The loader sets runnerAuto on every target whose runner is auto.
  const { fargateAbove, below } = target.runnerAuto!;
  // The function the dump would run in below the share: its time limit is what the share is of.
  const fn = below.runner === 'lambda' ? 'streamDump' : 'dump';
  const limit = functionTimeouts(runtime.config)[fn];
  const threshold = fargateAbove * limit;
  const share = `${fargateAbove} of the ${fn} Lambda's ${formatSeconds(limit)} (${formatSeconds(threshold)})`;
  const destination = target.destinations[0]!;
  let last: { seconds: number; runId: string } | undefined;
  try {
    last = await lastDump(target, destination, runtime);
  } catch (error) {
    // A store that cannot be read now fails the dump itself, with its own error, if it still cannot.
    runtime.log.warn('runner auto: the last backup cannot be read', { destination, error: (error as Error).message });
    return {
      runner: below.runner,
      reason: `runner auto: the last backup in ${destination} cannot be read (${(error as Error).message}), so ${below.runner}: ${below.reason}`,
    };
  }
  if (!last)
    return {
      runner: below.runner,
      reason: `runner auto: no earlier backup in ${destination} to go by, so ${below.runner}: ${below.reason}`,
    };
  if (last.seconds > threshold)
    return {
      runner: 'fargate',
      reason: `runner auto: the last dump (${last.runId}) took ${formatSeconds(last.seconds)}, more than ${share}`,
    };
  return {
    runner: below.runner,
    reason: `runner auto: the last dump (${last.runId}) took ${formatSeconds(last.seconds)}, within ${share}, so ${below.runner}: ${below.reason}`,
  };
}

/**
 * How long the newest backup's dump took, from its manifest. Keys carry the run's start time
 * (`<target>/<YYYYMMDD>/<target>-<YYYYMMDDTHHMMSSZ>-…`), so the greatest manifest key is the
 * newest; only that one (or the next, if it cannot be read) is fetched.
 */
async function lastDump(
  target: Target,
  destination: string,
  runtime: Runtime,
): Promise<{ seconds: number; runId: string } | undefined> {
  const storage = await storageFor(runtime.config, destination, runtime.secrets);
  const prefix = `${withPrefix(runtime.config.destinations[destination]?.prefix, target.name)}/`;
  const keys: string[] = [];
  for await (const object of storage.list(prefix)) if (object.key.endsWith(MANIFEST_SUFFIX)) keys.push(object.key);
  keys.sort().reverse();
  for (const key of keys.slice(0, 3)) {
    const manifest = await readManifest(storage, key);
    const seconds = manifest?.timings?.dumpSeconds;
    if (manifest?.target === target.name && typeof seconds === 'number') return { seconds, runId: manifest.runId };
  }
  return undefined;
}
