/**
 * What each state of statemachine/backup.asl.json receives and returns. Payloads carry names,
 * keys, sizes and checksums, never data or secrets (Step Functions caps a payload at 256 KB).
 */
import type { Engine } from './config/schema.ts';

/** The input of an execution: which target to back up. */
export interface BackupRequest {
  target: string;
}

/** What the state machine knows of its own execution (from the context object `$$`). */
export interface ExecutionInfo {
  id: string;
  name: string;
  startTime: string;
}

export interface PlanInput {
  request: BackupRequest;
  execution: ExecutionInfo;
}

export interface PlanResult {
  runId: string;
  target: string;
  engine: Engine;
  database: string;
  executionId: string;
  /** When the execution started (ISO 8601, UTC); the time every name of the run derives from. */
  startedAt: string;
  timezone: string;
  /** The run's own folder in staging; Cleanup removes it. */
  stagingDir: string;
  fileName: string;
  /** `<target>/<YYYYMMDD>/<file>`; each destination puts its prefix before it. */
  objectKey: string;
  destinations: string[];
}

export interface ToolInfo {
  name: string;
  version: string;
}

export interface DumpResult {
  /** The staged dump file (absolute path). */
  file: string;
  size: number;
  sha256: string;
  /** How the bytes are compressed: the format's own (`custom`), `gzip` or `zstd`. */
  compression: string;
  tool: ToolInfo;
  serverVersion: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
}

export interface UploadInput {
  plan: PlanResult;
  dump: DumpResult;
}

export interface StoredBackup {
  destination: string;
  type: string;
  /** Where the dump is, in the destination's own terms (a path, an s3:// URL). */
  location: string;
  key: string;
  manifestKey: string;
  size: number;
  sha256: string;
}

export interface UploadResult {
  stored: StoredBackup[];
  durationSeconds: number;
}

/** A failure as the failure branch carries it: which state, the error name and its cause. */
export interface Failure {
  state: string;
  error: string;
  cause: string;
}

/** The whole state of a run as it flows through the machine; each step adds its result. */
export interface RunState {
  target?: string;
  plan?: PlanResult;
  dump?: DumpResult;
  upload?: UploadResult;
  failure?: Failure;
}

export type Outcome = 'success' | 'failure';

export interface NotifyInput {
  outcome: Outcome;
  run: RunState;
  execution: ExecutionInfo;
}

export interface NotifyResult {
  sent: { notifier: string; id: string }[];
  failed: { notifier: string; error: string }[];
}

export interface CleanupInput {
  run: RunState;
}

export interface CleanupResult {
  removed: string[];
}
