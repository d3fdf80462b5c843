/**
 * Prune: apply the target's retention policy to every destination this run stored into. The
 * backups are read from their manifests (a dump without a manifest is not a backup and is never
 * touched). Each destination is listed in full before anything in it is deleted, so a listing
 * that fails deletes nothing; the manifest is deleted before its dump, so a half-finished prune
 * never leaves a manifest pointing at nothing.
 */
import { getTarget } from '../config/load.ts';
import type { PruneInput, PruneResult, PrunedDestination } from '../contracts.ts';
import { listBackups, targetPrefix } from '../backups/listing.ts';
import { applyRetention } from '../backups/retention.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';

export async function prune(input: PruneInput, runtime: Runtime): Promise<PruneResult> {
  const { plan } = input;
  const target = getTarget(runtime.config, plan.target);
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Prune' });
  const destinations: PrunedDestination[] = [];

  for (const outcome of input.upload) {
    if (outcome.status !== 'stored') continue;
    const storage = await storageFor(runtime.config, outcome.destination, runtime.secrets);
    const prefix = targetPrefix(runtime.config.destinations[outcome.destination]?.prefix, plan.target);
    const backups = await listBackups(storage, prefix, plan.target);
    // The backup this run just stored must be among them; if it is not, the listing is not
    // trustworthy (an eventually consistent store, a wrong prefix) and nothing is deleted.
    if (!backups.some((b) => b.key === outcome.key)) {
      log.warn('this run’s backup is missing from the listing; nothing pruned', {
        destination: outcome.destination,
        key: outcome.key,
      });
      destinations.push({ destination: outcome.destination, kept: backups.length, deleted: [] });
      continue;
    }
    const { keep, remove } = applyRetention(backups, target.retention, target.timezone, runtime.now());
    const deleted: string[] = [];
    for (const backup of remove) {
      await storage.delete(backup.manifestKey);
      await storage.delete(backup.key);
      deleted.push(backup.key);
    }
    log.info('pruned', { destination: outcome.destination, kept: keep.length, deleted });
    destinations.push({ destination: outcome.destination, kept: keep.length, deleted });
  }
  return { destinations };
}
