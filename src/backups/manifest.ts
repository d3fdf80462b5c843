/**
 * The manifest: a JSON document written next to each dump, after it. A backup exists only when
 * its manifest does, so listing, retention and restore read manifests, never bare objects.
 */
import type { FinishedDump, PlanResult } from '../contracts.ts';

export const MANIFEST_FORMAT = 'stepvault.manifest/1';

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  runId: string;
  executionId: string;
  target: string;
  engine: string;
  database: string;
  createdAt: string;
  timezone: string;
  key: string;
  size: number;
  sha256: string;
  compression: string;
  tool: { name: string; version: string };
  server: { version: string };
  /** Rows per table in the dump. */
  rowCounts?: Record<string, number>;
  timings: { startedAt: string; dumpStartedAt: string; dumpFinishedAt: string; dumpSeconds: number; storedAt: string };
}

export function buildManifest(plan: PlanResult, dump: FinishedDump, key: string, storedAt: Date): Manifest {
  return {
    format: MANIFEST_FORMAT,
    runId: plan.runId,
    executionId: plan.executionId,
    target: plan.target,
    engine: plan.engine,
    database: plan.database,
    createdAt: plan.startedAt,
    timezone: plan.timezone,
    key,
    size: dump.size,
    sha256: dump.sha256,
    compression: dump.compression,
    tool: dump.tool,
    server: { version: dump.serverVersion },
    ...(dump.rowCounts && { rowCounts: dump.rowCounts }),
    timings: {
      startedAt: plan.startedAt,
      dumpStartedAt: dump.startedAt,
      dumpFinishedAt: dump.finishedAt,
      dumpSeconds: dump.durationSeconds,
      storedAt: storedAt.toISOString(),
    },
  };
}

/** Object metadata every destination that supports it stores with the dump. */
export function objectMetadata(manifest: Manifest): Record<string, string> {
  return {
    'backup-type': manifest.engine,
    database: manifest.database,
    timestamp: manifest.createdAt,
    timezone: manifest.timezone,
    sha256: manifest.sha256,
    'tool-version': `${manifest.tool.name} ${manifest.tool.version}`,
    'server-version': manifest.server.version,
  };
}
