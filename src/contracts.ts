/**
 * What each state of statemachine/backup.asl.json receives and returns. Payloads carry names,
 * keys, sizes and checksums, never data or secrets (Step Functions caps a payload at 256 KB).
 */
import type { SizeAnomaly } from './backups/size-anomaly.ts';
import type { Engine } from './config/schema.ts';
import type { EncryptionFacts } from './encryption/age.ts';
import type { CheckResult } from './doctor/types.ts';
import type { Runner } from './runners/types.ts';
import type { StoppedTaskDescription } from './task/stopped-task.ts';

/** The input of an execution: which target to back up. */
export interface BackupRequest {
  target: string;
}

/**
 * The input of a doctor execution (`stepvault doctor --stage`): the state machine routes it to the Doctor state,
 * which checks the target from inside the deployment and backs nothing up.
 */
export interface DoctorRequest extends BackupRequest {
  doctor: true;
}

export interface DoctorInput {
  request: DoctorRequest;
}

/** Doctor's answer, the output of a doctor execution: one line per check, as `stepvault doctor --json` prints it. */
export interface DoctorReport {
  target: string;
  /** No check failed. */
  ok: boolean;
  checks: CheckResult[];
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
  /** The database; for a whole server, `all` or the configured names joined by commas. */
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

/**
 * PostgreSQL's directory format (`pg_dump --jobs`), stored as one tar of the folder; restored by
 * unpacking it and running pg_restore with as many jobs.
 */
export interface DirectoryLayout {
  kind: 'directory-tar';
  /** The pg_dump workers that wrote it: pg_restore's --jobs unless the restore says otherwise. */
  jobs: number;
}

/**
 * A whole server (`databases: all` or a list): one dump per database in its engine's usual form,
 * plus the server's roles or users and grants, stored as one tar of a folder SERVER_IN_TAR.
 */
export interface ServerLayout {
  kind: 'server';
  members: ServerMember[];
}

/** One file of a server backup, checked on its own when it is restored. */
export interface ServerMember {
  /** Its name inside SERVER_IN_TAR. */
  file: string;
  /** The database it holds; absent for the globals (roles, users, grants). */
  database?: string;
  size: number;
  sha256: string;
  rowCounts?: Record<string, number>;
}

export type DumpLayout = DirectoryLayout | ServerLayout;

/** The folder's name inside a server backup's tar. */
export const SERVER_IN_TAR = 'server';

/** The member that holds the server's roles (PostgreSQL) or users and grants (MySQL, MariaDB). */
export const GLOBALS_MEMBER = 'globals.sql';

/** The folder's name inside a directory-tar: `tar -xf` gives `dump/`, which `pg_restore -j N dump` reads. */
export const DIRECTORY_IN_TAR = 'dump';

/** What every finished dump says of itself, wherever its bytes are. */
export interface DumpFacts {
  size: number;
  sha256: string;
  /**
   * How the bytes are compressed: `zstd`, `lz4`, `gzip` or `none` (for PostgreSQL inside its
   * custom-format archive), `mssql`…; `custom` in PostgreSQL dumps made before the method could
   * be chosen, which are pg_dump's default gzip.
   */
  compression: string;
  /** The level it was compressed at, when one was set (absent: the method's own default). */
  compressionLevel?: number;
  tool: ToolInfo;
  serverVersion: string;
  /** Rows per table, counted from the dump itself; the restore drill compares against them. */
  rowCounts?: Record<string, number>;
  /** How a dump made of several files is stored as one object; absent for one tool's single output. */
  layout?: DumpLayout;
  /** Present when the stored bytes are an age file: size and sha256 above are then the ciphertext's. */
  encryption?: EncryptionFacts;
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
  /** With alerts.sizeChangePercent: the dump differs from the previous backup by at least that much. */
  sizeAnomaly?: SizeAnomaly;
  /** Why the drill was configured but not run (an encrypted backup and no identity to open it). */
  drillSkipped?: string;
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
  /** The last error FargateDump caught; a task that stopped has its description as the cause. */
  fargateError?: CaughtError;
  /** The fargate runner's tasks that stopped without success in this run, retried while the exit code allows. */
  fargateRetry?: FargateRetry;
}

/** What the state machine counts between the fargate runner's attempts (CountFargateTaskStopped). */
export interface FargateRetry {
  /** How many tasks stopped without success so far. */
  stopped: number;
  /** The last one's description, read from its cause. */
  task: StoppedTaskDescription;
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
  'fargateError',
  'fargateRetry',
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
