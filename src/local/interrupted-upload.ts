/**
 * What an interrupted Upload leaves on the destinations, closed the way Cleanup would close it:
 * the run's open multipart uploads and partial files are aborted, and a dump that has no manifest
 * is deleted (without its manifest it is not a backup, and its key is this run's own, so nothing
 * else can be harmed). A dump with its manifest is a complete backup and stays. Best effort within
 * a short budget: whoever pressed Ctrl-C is waiting, so what is not done in time is said, not
 * waited for; a lifecycle rule for incomplete multipart uploads is then the remaining net.
 */
import type { PlanResult } from '../contracts.ts';
import { manifestKey, withPrefix } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { closeOpenWrites } from '../steps/open-writes.ts';
import { storageFor } from '../storage/registry.ts';

/** How long an interrupted run may spend closing its writes before it exits. */
export const INTERRUPT_BUDGET_MS = 10_000;

/** Closes what the run opened on its destinations; returns one line per thing done or left. */
export async function closeInterruptedUpload(
  plan: PlanResult,
  runtime: Runtime,
  budgetMs = INTERRUPT_BUDGET_MS,
): Promise<string[]> {
  const deadline = Date.now() + budgetMs;
  const said: string[] = [];
  const seconds = `${budgetMs / 1000} s`;
  // Most of the budget, so that the aborts' own time limit (which says per key what it gave up on)
  // comes before the hard one; the rest is for the dumps without a manifest.
  const writes = await withinBudget(closeOpenWrites(plan, runtime, budgetMs * 0.8), deadline);
  if (writes === undefined) said.push(`  aborting the open uploads gave up after ${seconds}`);
  for (const each of writes?.aborted ?? [])
    said.push(`  ${each.destination}: aborted ${each.count} open upload(s) of ${each.key}`);
  for (const each of writes?.failed ?? [])
    said.push(`  ${each.destination}: could not abort the open uploads of ${each.key}: ${each.error}`);
  const lines = await Promise.all(
    plan.destinations.map(async ({ name }) => {
      const key = withPrefix(runtime.config.destinations[name]?.prefix, plan.objectKey);
      try {
        const line = await withinBudget(removeDumpWithoutManifest(plan, runtime, name, key), deadline);
        return line ?? `  ${name}: gave up after ${seconds}: ${key} may be there without its manifest`;
      } catch (error) {
        return `  ${name}: could not check or remove ${key}: ${(error as Error).name}: ${(error as Error).message}`;
      }
    }),
  );
  return [...said, ...lines.filter((line) => line !== '')];
}

async function removeDumpWithoutManifest(
  plan: PlanResult,
  runtime: Runtime,
  name: string,
  key: string,
): Promise<string> {
  const storage = await storageFor(runtime.config, name, runtime.secrets);
  if ((await storage.head(key)) === undefined) return '';
  if ((await storage.head(manifestKey(key))) !== undefined)
    return `  ${name}: kept ${storage.locate(key)} (complete, with its manifest)`;
  await storage.delete(key);
  runtime.log
    .child({ runId: plan.runId, target: plan.target })
    .info('interrupted: removed a dump without its manifest', { destination: name, key });
  return `  ${name}: removed ${storage.locate(key)} (no manifest: not a backup)`;
}

/** The work's result, or undefined once the deadline has passed (the work is left to itself). */
async function withinBudget<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>(
    (resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()))),
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
