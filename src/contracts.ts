/**
 * What each state of statemachine/backup.asl.json receives and returns. Payloads carry names,
 * keys, sizes and checksums, never data or secrets (Step Functions caps a payload at 256 KB).
 */
import type { Engine } from './config/schema.ts';
import type { Runner } from './runners/types.ts';

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
  destinations: DestinationRef[];
  /** Where the dump runs (the ChooseRunner state branches on it); `auto` is resolved here. */
  runner: Runner;
  /** Why that runner, in a sentence for the mail and `stepvault run`. */
  runnerReason: string;
}

/** A destination as the Upload map iterates it. */
export interface DestinationRef {
  name: string;
  type: string;
  /** A run fails when a required destination fails; an optional one is reported and skipped. */
  required: boolean;
}

export interface ToolInfo {
  name: string;
  version: string;
}

/** What every finished dump says of itself, wherever its bytes are. */
export interface DumpFacts {
  size: number;
  sha256: string;
  /** How the bytes are compressed: the format's own (`custom`), `gzip`, `zstd`, `mssql`… */
  compression: string;
  tool: ToolInfo;
  serverVersion: string;
  /** Rows per table, counted from the dump itself; the restore drill compares against them. */
  rowCounts?: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
}

/** A dump in the run's staging folder (written by the tool, or by SQL Server onto the share); Upload stores it. */
export interface StagedDump extends DumpFacts {
  kind: 'staged';
  /** The staged dump file (absolute path). */
  file: string;
}

/**
 * A backup the server writes straight into one destination (RDS for SQL Server into S3), as a
 * task the state machine polls (Wait → CheckRdsBackup). Until it is written, its size and
 * checksum are unknown, and say so.
 */
export interface ServerWritingDump extends Pick<DumpFacts, 'compression' | 'tool' | 'serverVersion' | 'startedAt'> {
  kind: 'server-writing';
  task: ServerBackupTask;
  size?: undefined;
  sha256?: undefined;
  rowCounts?: undefined;
  finishedAt?: undefined;
}

/**
 * The server-written backup once it is there: measured and hashed from the object itself. Upload only adds its
 * manifest.
 */
export interface ServerWrittenDump extends DumpFacts {
  kind: 'server-written';
  task: ServerBackupTask;
}

/**
 * A dump streamed straight into one destination, nothing staged (the lambda runner; the fargate
 * runner's task publishes the same): the dump and its manifest are there already, checked before
 * they became visible. Upload copies them from there to every other destination.
 */
export interface StreamedDump extends DumpFacts {
  kind: 'streamed';
  /** The destination that holds the dump and its manifest. */
  destination: string;
  /** The dump's key in that destination, with its prefix. */
  key: string;
  manifestKey: string;
}

/** A dump whose bytes are all there: what Upload and Verify are given. */
export type FinishedDump = StagedDump | ServerWrittenDump | StreamedDump;

/** Dump's (or StreamDump's) result, which CheckRdsBackup replaces on each look until it is finished. */
export type DumpResult = FinishedDump | ServerWritingDump;

/** A server's backup task, as Dump started it and each CheckRdsBackup last saw it. */
export interface ServerBackupTask {
  taskId: number;
  /** The destination the server writes to, and the key of the object. */
  destination: string;
  key: string;
  /** The server's own word for the task's state (RDS: CREATED, IN_PROGRESS, SUCCESS…). */
  lifecycle: string;
  percent: number;
  attempts: number;
  maxAttempts: number;
}

/** What CheckRdsBackup is given: the plan, and the dump whose task it looks at. */
export interface CheckRdsBackupInput {
  plan: PlanResult;
  dump: ServerWritingDump;
}

/** The input of one iteration of the Upload map. */
export interface UploadInput {
  plan: PlanResult;
  dump: FinishedDump;
  destination: DestinationRef;
}

export interface StoredBackup {
  status: 'stored';
  destination: string;
  type: string;
  /** Where the dump is, in the destination's own terms (a path, an s3:// URL). */
  location: string;
  key: string;
  manifestKey: string;
  size: number;
  sha256: string;
  seconds: number;
}

/** An optional destination that failed: the run goes on, and the mail says so. */
export interface SkippedDestination {
  status: 'failed';
  destination: string;
  error: string;
  cause: string;
}

export type DestinationOutcome = StoredBackup | SkippedDestination;

/** The Upload map's result: one outcome per destination, in the plan's order. */
export type UploadResult = DestinationOutcome[];

export interface VerifyInput {
  plan: PlanResult;
  dump: FinishedDump;
  upload: UploadResult;
}

export interface VerifyResult {
  destinations: { destination: string; checked: 'manifest' | 'download' }[];
  drill?: { database: string; tables: number; rows: number; seconds: number };
}

export interface PruneInput {
  plan: PlanResult;
  upload: UploadResult;
}

export interface PrunedDestination {
  destination: string;
  kept: number;
  deleted: string[];
}

export interface PruneResult {
  destinations: PrunedDestination[];
}

/** An error as a Catch records it. */
export interface CaughtError {
  Error: string;
  Cause: string;
}

/** A failure as the failure branch carries it: which state, the error name and its cause. */
export interface Failure {
  state: string;
  error: string;
  cause: string;
}

/**
 * The whole state of a run as it flows through the machine: the execution's input, and each
 * state's result at its `ResultPath`. It is the execution's output too.
 * src/statemachine/contract.test.ts keeps it to what backup.asl.json writes.
 */
export interface RunState extends BackupRequest {
  plan?: PlanResult;
  /** Dump's or StreamDump's result; CheckRdsBackup replaces it on each look. */
  dump?: DumpResult;
  upload?: UploadResult;
  verify?: VerifyResult;
  prune?: PruneResult;
  /** Retention could not be applied; the backup itself is good. */
  pruneError?: CaughtError;
  /** NotifySuccess or NotifyFailure. */
  notification?: NotifyResult;
  /** The Notify state failed as a whole; a good backup stays good. */
  notificationError?: CaughtError;
  /** Cleanup or CleanupAfterFailure. */
  cleanup?: CleanupResult;
  /** CleanupAfterFailure failed; the run had failed already. */
  cleanupError?: CaughtError;
  /**
   * Which state failed: a Catch puts the CaughtError here, and its <State>Failed Pass state turns it into a Failure.
   */
  failure?: Failure;
}

/** The keys of RunState, for the tests that hold it to the ASL and to real runs; the compiler keeps the list whole. */
export const RUN_STATE_KEYS = [
  'target',
  'plan',
  'dump',
  'upload',
  'verify',
  'prune',
  'pruneError',
  'notification',
  'notificationError',
  'cleanup',
  'cleanupError',
  'failure',
] as const satisfies readonly (keyof RunState)[];
const everyRunStateKey: Exclude<keyof RunState, (typeof RUN_STATE_KEYS)[number]> extends never ? true : never = true;
void everyRunStateKey;

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
  /**
   * Writes of the run's keys a failed attempt left open on a destination (multipart uploads, partial files), now
   * aborted.
   */
  aborted: AbortedWrites[];
  /** Where that could not be done (best effort: reported here and logged, never failing the run). */
  abortFailed: AbortFailure[];
}

export interface AbortedWrites {
  destination: string;
  key: string;
  count: number;
}

export interface AbortFailure {
  destination: string;
  key: string;
  error: string;
}
