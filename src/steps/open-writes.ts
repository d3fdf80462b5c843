/**
 * The open writes a run can leave on its destinations: a multipart upload whose last attempt
 * failed while the store was unreachable (so its own abort failed too), or a partial file of a
 * process killed mid-write. The run's keys are its own (a per-run suffix), so no later run would
 * ever close them: Cleanup does, on the success path (an optional destination that failed) and
 * the failure path alike. Best effort: what cannot be closed is logged and reported in the
 * Cleanup result, never thrown, so it can neither fail a good backup nor hide why a run failed.
 */
import type { AbortedWrites, AbortFailure, PlanResult } from '../contracts.ts';
import { manifestKey, withPrefix } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import { STEPS } from './table.ts';

/**
 * How long the aborts may take in all: at most 30 s, and at most a quarter of Cleanup's own time
 * limit, so a store that accepts connections and never answers cannot time the step out (on the
 * success path that would report a good backup as failed).
 */
export function abortBudgetMs(runtime: Runtime): number {
  const timeout = runtime.config.deploy?.functions?.cleanup?.timeout ?? STEPS.cleanup.timeout;
  return Math.min(30_000, (timeout * 1000) / 4);
}

export interface OpenWritesOutcome {
  aborted: AbortedWrites[];
  failed: AbortFailure[];
}

export async function closeOpenWrites(
  plan: PlanResult,
  runtime: Runtime,
  budgetMs = abortBudgetMs(runtime),
): Promise<OpenWritesOutcome> {
  const signal = AbortSignal.timeout(budgetMs);
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Cleanup' });
  const outcome: OpenWritesOutcome = { aborted: [], failed: [] };
  await Promise.all(
    plan.destinations.map(async ({ name }) => {
      const key = withPrefix(runtime.config.destinations[name]?.prefix, plan.objectKey);
      for (const each of [key, manifestKey(key)]) {
        try {
          const storage = await storageFor(runtime.config, name, runtime.secrets);
          const count = await storage.abortIncomplete(each, signal);
          if (count > 0) {
            outcome.aborted.push({ destination: name, key: each, count });
            log.info('open writes of the run aborted', { destination: name, key: each, count });
          }
        } catch (error) {
          const message = signal.aborted
            ? `gave up after ${budgetMs / 1000} s: ${(error as Error).message}`
            : (error as Error).message;
          outcome.failed.push({ destination: name, key: each, error: `${(error as Error).name}: ${message}` });
          log.warn(
            'cannot abort the open writes of the run; a lifecycle rule for incomplete multipart uploads is the remaining net',
            { destination: name, key: each, error: message },
          );
        }
      }
    }),
  );
  return outcome;
}
