/**
 * The manifest: a JSON document written next to each dump, after it. A backup exists only when
 * its manifest does, so listing, retention and restore read manifests, never bare objects.
 */
import type { DumpLayout, FinishedDump, PlanResult } from '../contracts.ts';
import type { EncryptionFacts } from '../encryption/age.ts';

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
  /** The stored object's size and SHA-256: the ciphertext's when the backup is encrypted. */
  size: number;
  sha256: string;
  /** An age file: for which recipients (fingerprints), and the dump's size before encryption. */
  encryption?: EncryptionFacts;
  /** As DumpFacts says (src/contracts.ts): PostgreSQL's older manifests say `custom` (gzip). */
  compression: string;
  compressionLevel?: number;
  tool: { name: string; version: string };
  server: { version: string };
  /** Rows per table in the dump. */
  rowCounts?: Record<string, number>;
  /** Several files stored as one object (PostgreSQL's directory format as a tar), and the jobs that wrote it. */
  layout?: DumpLayout;
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
    ...(dump.encryption && { encryption: dump.encryption }),
    compression: dump.compression,
    ...(dump.compressionLevel !== undefined && { compressionLevel: dump.compressionLevel }),
    tool: dump.tool,
    server: { version: dump.serverVersion },
    ...(dump.rowCounts && { rowCounts: dump.rowCounts }),
    ...(dump.layout && { layout: dump.layout }),
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
