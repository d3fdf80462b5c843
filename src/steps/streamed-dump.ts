/**
 * A dump streamed into its first destination, as its manifest describes it: what StreamDump
 * returns, what a retry of it finds an earlier attempt of the run left, and what the fargate
 * runner's task published for the state machine to collect.
 */
import { readManifest } from '../backups/listing.ts';
import type { DestinationRef, PlanResult, StreamedDump } from '../contracts.ts';
import { ObjectExistsError } from '../errors.ts';
import type { Manifest } from '../backups/manifest.ts';
import type { StorageProvider } from '../storage/types.ts';

/**
 * The destination a streamed dump goes into: the first required one (a run that cannot store
 * there fails anyway), else the first.
 */
export function streamDestination(plan: PlanResult): DestinationRef {
  return plan.destinations.find((d) => d.required) ?? plan.destinations[0]!;
}

/** The object metadata known before the first byte: the rest (SHA-256, versions) is in the manifest. */
export function streamMetadata(plan: PlanResult): Record<string, string> {
  return {
    'backup-type': plan.engine,
    database: plan.database,
    timestamp: plan.startedAt,
    timezone: plan.timezone,
  };
}

export function streamedFromManifest(
  manifest: Manifest,
  where: { destination: string; key: string; manifestKey: string },
): StreamedDump {
  return {
    kind: 'streamed',
    ...where,
    size: manifest.size,
    sha256: manifest.sha256,
    compression: manifest.compression,
    ...(manifest.compressionLevel !== undefined && { compressionLevel: manifest.compressionLevel }),
    tool: manifest.tool,
    serverVersion: manifest.server.version,
    ...(manifest.rowCounts && { rowCounts: manifest.rowCounts }),
    ...(manifest.layout && { layout: manifest.layout }),
    ...(manifest.encryption && { encryption: manifest.encryption }),
    startedAt: manifest.timings.dumpStartedAt,
    finishedAt: manifest.timings.dumpFinishedAt,
    durationSeconds: manifest.timings.dumpSeconds,
  };
}

/**
 * What an earlier attempt of this run left under the run's keys. Its published dump (manifest
 * and all) is returned as it is: the run has its backup. A dump without its manifest is the
 * earlier attempt's own (the keys are the run's), never a backup: it is removed so the dump can
 * start over. A manifest of another execution is not ours to replace or delete.
 */
export async function earlierAttempt(
  storage: StorageProvider,
  plan: PlanResult,
  where: { destination: string; key: string; manifestKey: string },
): Promise<{ published?: StreamedDump; removed?: string }> {
  const manifest = await readManifest(storage, where.manifestKey);
  if (manifest) {
    if (manifest.executionId === plan.executionId && manifest.key === where.key)
      return { published: streamedFromManifest(manifest, where) };
    throw new ObjectExistsError(
      `destination ${where.destination}: ${storage.locate(where.manifestKey)} already exists and belongs to another run; nothing was replaced`,
    );
  }
  if (await storage.head(where.key)) {
    await storage.delete(where.key);
    return { removed: where.key };
  }
  return {};
}
