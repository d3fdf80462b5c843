/**
 * Cleanup: on the success path and the failure path alike, abort what the run left open on its
 * destinations (best effort, see open-writes.ts), then remove the run's staging folder. It only
 * ever removes the folder named after this run inside the target's staging root. A run whose dump
 * was streamed (any runner but efs) staged nothing, and has no share to look at.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { CleanupInput, CleanupResult } from '../contracts.ts';
import { ConfigError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { closeOpenWrites } from './open-writes.ts';

export async function cleanup(input: CleanupInput, runtime: Runtime): Promise<CleanupResult> {
  const plan = input.run.plan;
  if (!plan) return { removed: [], aborted: [], abortFailed: [] };
  const open = await closeOpenWrites(plan, runtime);
  if (plan.runner !== 'efs') return { removed: [], aborted: open.aborted, abortFailed: open.failed };
  const folder = path.resolve(plan.stagingDir);
  if (path.basename(folder) !== plan.runId) {
    throw new ConfigError(`refusing to remove ${folder}: it is not the staging folder of run ${plan.runId}`);
  }
  await rm(folder, { recursive: true, force: true });
  runtime.log.info('staging removed', { runId: plan.runId, target: plan.target, state: 'Cleanup', folder });
  return { removed: [folder], aborted: open.aborted, abortFailed: open.failed };
}
