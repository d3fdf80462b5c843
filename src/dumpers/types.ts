import type { Readable } from 'node:stream';
import type { ConnectedTarget } from '../config/load.ts';
import type { DestinationConfig } from '../config/schema.ts';
import type { DumpFacts, ToolInfo } from '../contracts.ts';
import type { EncryptionKeys } from '../encryption/age.ts';
import type { ProgressListener } from '../observability/progress.ts';

export interface DumpRequest {
  target: ConnectedTarget;
  /** The resolved password, if the target has one; it goes to the tool by env or a 0600 file. */
  password?: string;
  /** Where the dump goes; the folder exists and is private to the run. */
  file: string;
  onProgress?: ProgressListener;
  /** Told what the log should say of a dump that succeeds but differs from what the config implied. */
  onWarning?: (message: string) => void;
  /** Encrypt the dump with age before anything is written (the target's encryption, its passphrase resolved). */
  encryption?: EncryptionKeys;
}

/** What a writer stored from a stream: counted and hashed from the bytes as they passed. */
export interface StreamWritten {
  size: number;
  sha256: string;
}

/**
 * Takes a dump's bytes as a stream and stores them (a destination's putStream). `beforeCommit`
 * is called once the last byte has passed and before the object becomes visible: it throws when
 * the dump must not be published (the tool failed, the archive check refused it), and the writer
 * then abandons the write and rethrows.
 */
export type StreamSink = (
  body: Readable,
  beforeCommit: (written: StreamWritten) => Promise<void>,
) => Promise<StreamWritten>;

/** Where a dump tool's output goes: a file in staging, or a writer that takes it as a stream. */
export type DumpSink = { file: string } | { stream: StreamSink };

/** A dump that goes straight into a writer, with nothing staged (the lambda runner). */
export interface StreamDumpRequest extends Omit<DumpRequest, 'file'> {
  sink: StreamSink;
}

/** What a dumper learns about its dump; the Dump step adds where and when. */
export type DumpOutput = Pick<
  DumpFacts,
  | 'size'
  | 'sha256'
  | 'compression'
  | 'compressionLevel'
  | 'tool'
  | 'serverVersion'
  | 'rowCounts'
  | 'layout'
  | 'encryption'
>;

/**
 * One database engine's way of dumping, which writes its dump into the run's staging folder.
 * A dumper knows its tool's command line (built by pure functions, unit tested) and how to tell
 * a complete dump from a broken one; running it is shared.
 */
export interface StagingDumper {
  writes: 'staging';
  /** The database server writes the file itself, as its own account, which must share the staging folder's group. */
  serverWritesFile?: boolean;
  dump(request: DumpRequest): Promise<DumpOutput>;
  /**
   * The same dump streamed into a writer instead of a file, judged before it is published: for
   * the runners that stage nothing. Absent where the tool cannot stream (SQL Server writes a file
   * itself).
   */
  dumpInto?(request: StreamDumpRequest): Promise<DumpOutput>;
}

/** Where a server-written backup goes: one destination the server writes to itself. */
export interface ServerBackupRequest {
  target: ConnectedTarget;
  password?: string;
  destination: { name: string; config: DestinationConfig };
  /** The object's key in the destination, with its prefix. */
  key: string;
}

/** A server's backup task as one look sees it. */
export interface ServerTaskStatus {
  state: 'running' | 'succeeded' | 'failed';
  /** The server's own word for it, for logs and messages. */
  lifecycle: string;
  percent: number;
  info: string;
}

/**
 * A way of dumping where the server writes the backup straight into a destination, as a task
 * the state machine polls (RDS for SQL Server): nothing is staged, and Upload only adds the
 * manifest.
 */
export interface DestinationDumper {
  writes: 'destination';
  /** Refuses a destination it cannot write to (ConfigError), then starts the task. */
  start(
    request: ServerBackupRequest,
  ): Promise<{ taskId: number; compression: string; tool: ToolInfo; serverVersion: string }>;
  status(target: ConnectedTarget, password: string | undefined, taskId: number): Promise<ServerTaskStatus>;
  /** How long a task may run before the run gives up on it. */
  timeoutSeconds(target: ConnectedTarget): number;
  /** What the user can change when a task outlives timeoutSeconds. */
  timeoutHint: string;
}

export type Dumper = StagingDumper | DestinationDumper;
