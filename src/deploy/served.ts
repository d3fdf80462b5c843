/**
 * Which targets each step serves, and which of their destinations it touches: what its role is
 * scoped to. One function (one role) serves every target its step runs for, so a role's grants
 * are the union over those targets, never more: Dump reads only the passwords of the targets that
 * dump on efs, CheckRdsBackup only those of the targets RDS backs up, Plan reads a destination
 * only for the targets whose runner it chooses from the last backup (runner auto).
 */
import type { Config, Target } from '../config/load.ts';
import { serverWrites } from '../engines/registry.ts';
import type { Runner } from '../runners/types.ts';
import type { StepName } from '../steps/table.ts';

/** Where a step runs: its Lambda function, or the fargate runner's ECS task. */
export type StepHost = 'lambda' | 'task';

export interface Served {
  target: Target;
  /** The destinations of the target the step reads or writes. */
  destinations: string[];
}

/** The runners a target's dump may run on: its own, or for auto both fargate and the runner below the line. */
export function runnersOfTarget(target: Target): Set<Runner> {
  if (target.runner !== 'auto') return new Set([target.runner]);
  return new Set(['fargate', target.runnerAuto?.below.runner ?? 'lambda']);
}

/** The destination a streamed dump goes into: the first required one, else the first (as StreamDump picks it). */
export function streamDestinationOf(config: Config, target: Target): string {
  return target.destinations.find((d) => config.destinations[d]?.required ?? true) ?? target.destinations[0]!;
}

function servesTarget(step: StepName, target: Target, host: StepHost): boolean {
  const runners = runnersOfTarget(target);
  switch (step) {
    case 'dump':
      return runners.has('efs');
    case 'streamDump':
      return runners.has(host === 'task' ? 'fargate' : 'lambda');
    case 'collectDump':
      return runners.has('fargate');
    case 'checkRdsBackup':
      return serverWrites(target) !== undefined;
    default:
      return true;
  }
}

function destinationsTouched(step: StepName, config: Config, target: Target): string[] {
  switch (step) {
    // Plan reads the newest manifest in the first destination, only to choose runner auto's runner.
    case 'plan':
      return target.runner === 'auto' ? [target.destinations[0]!] : [];
    case 'streamDump':
    case 'collectDump':
      return [streamDestinationOf(config, target)];
    default:
      return target.destinations;
  }
}

/** The targets `step` serves where it runs (`host`), each with the destinations it touches for it. */
export function servedBy(step: StepName, config: Config, host: StepHost = 'lambda'): Served[] {
  return Object.values(config.targets)
    .filter((target) => servesTarget(step, target, host))
    .map((target) => ({ target, destinations: destinationsTouched(step, config, target) }));
}
