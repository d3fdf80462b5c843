/** What the status page, `/health` and `stepvault report` show: built by collect.ts, shown by html.ts and health.ts. */

export type TargetState = 'ok' | 'late' | 'failed';

/** One run's backup: stored once per destination, each under its own key (destinations have prefixes). */
export interface StoredCopy {
  runId: string;
  createdAt: string;
  size: number;
  sha256: string;
  copies: { destination: string; key: string; restoreCommand: string }[];
}

export interface DestinationStatus {
  name: string;
  type: string;
  backups: number;
  /** The retention policy in words, and how many of the stored backups it keeps now. */
  policy: string;
  keeps: number;
  /** Why the destination could not be read (redacted). */
  error?: string;
}

export interface TargetStatus {
  name: string;
  engine: string;
  database?: string;
  state: TargetState;
  /** One sentence: why the state is what it is. */
  reason: string;
  lastSuccess?: { at: string; ageSeconds: number };
  lastFailure?: { at: string; where?: string; error?: string; cause?: string };
  lastDrill?: { at: string; outcome: string };
  /** The schedule in words, and its next run in the schedule's time zone. */
  schedule?: string;
  nextRun?: string;
  /** Sizes of the last backups, oldest first: one chart point each. */
  sizes: { at: string; size: number }[];
  /** Set when the newest backup is much smaller or larger than the one before it. */
  sizeWarning?: string;
  destinations: DestinationStatus[];
  /** Newest first. */
  backups: StoredCopy[];
}

export interface StatusReport {
  generatedAt: string;
  source: string;
  targets: TargetStatus[];
}
