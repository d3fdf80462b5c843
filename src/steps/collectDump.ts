/**
 * CollectDump (the fargate runner): `ecs:runTask.sync` returns the ECS task's description, not
 * what its container returned. The task ran streamDump, which published the dump and then its
 * manifest in the first destination; this reads that manifest and returns the same `streamed`
 * result StreamDump returns, so Upload, Verify and the mail see no difference between runners.
 */
import { readManifest } from '../backups/listing.ts';
import { manifestKey, withPrefix } from '../backups/naming.ts';
import type { PlanResult, StreamedDump } from '../contracts.ts';
import { DumpError, ObjectExistsError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import { streamDestination, streamedFromManifest } from './streamed-dump.ts';

export async function collectDump(plan: PlanResult, runtime: Runtime): Promise<StreamedDump> {
  const destination = streamDestination(plan).name;
  const storage = await storageFor(runtime.config, destination, runtime.secrets);
  const key = withPrefix(runtime.config.destinations[destination]?.prefix, plan.objectKey);
  const where = { destination, key, manifestKey: manifestKey(key) };
  const manifest = await readManifest(storage, where.manifestKey);
  if (!manifest)
    throw new DumpError(
      `the dump task finished, but destination ${destination} holds no manifest at ${storage.locate(where.manifestKey)}: the task published no backup`,
    );
  if (manifest.executionId !== plan.executionId || manifest.key !== key)
    throw new ObjectExistsError(
      `destination ${destination}: ${storage.locate(where.manifestKey)} belongs to another run (${manifest.executionId}), not to this one`,
    );
  runtime.log.info('collected the dump the task published', {
    runId: plan.runId,
    destination,
    key,
    size: manifest.size,
  });
  return streamedFromManifest(manifest, where);
}
