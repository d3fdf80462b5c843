/**
 * How far a piece of work got, in one vocabulary that every producer speaks (a dump tool's bytes
 * through the digest, an upload's read of the staged file, SQL Server's STATS messages, RDS's
 * task status, a restore's download) and every reader understands (the terminal line, the heartbeat, the JSON progress
 * line, Lambda's
 * log). A producer says only what it knows: bytes it counted, a total it was told, a share done
 * it was given. Nothing is invented: a percent-only producer has no bytes, and none are shown.
 */
import { formatBytes } from '../text/format.ts';

export interface Progress {
  /** Bytes moved so far, when the producer counts them. */
  bytes?: number;
  /** Bytes expected in all, when known beforehand (a download of a manifest's size). */
  totalBytes?: number;
  /** Share done, 0 to 100, when the producer is told it (SQL Server, RDS) rather than counting. */
  percent?: number;
}

/** Progress of one state of the workflow. */
export interface ProgressEvent extends Progress {
  state: string;
  /** The part of the state it is about when parts run side by side: the Upload map's destination. */
  item?: string;
}

export type ProgressListener = (progress: Progress) => void;

/** The share done: as the producer gave it, or from bytes of a known total; else unknown. */
export function percentDone(progress: Progress): number | undefined {
  if (progress.percent !== undefined) return progress.percent;
  if (progress.bytes === undefined || !progress.totalBytes) return undefined;
  return Math.min(100, Math.floor((progress.bytes / progress.totalBytes) * 100));
}

/**
 * In words, for a person: "40% done", "5.0 MB written, 1.2 MB/s", "5.0 MB of 20.0 MB (25%),
 * 1.2 MB/s"; `verb` says what happens to the bytes. `seconds` is how long the work has run: a
 * rate is only given for bytes counted over a time that has passed.
 */
export function describeProgress(progress: Progress, seconds: number, verb = 'written'): string {
  const percent = percentDone(progress);
  if (progress.bytes === undefined) return percent === undefined ? 'no progress reported yet' : `${percent}% done`;
  const rate = seconds > 0 ? `, ${formatBytes(progress.bytes / seconds)}/s` : '';
  if (progress.totalBytes) {
    return `${formatBytes(progress.bytes)} of ${formatBytes(progress.totalBytes)} (${percent}%)${rate}`;
  }
  return `${formatBytes(progress.bytes)} ${verb}${rate}`;
}

/** The known fields, for a JSON line or a log record: each only when the producer said it. */
export function progressFields(progress: Progress, seconds?: number): Progress & { bytesPerSecond?: number } {
  const percent = percentDone(progress);
  return {
    ...(progress.bytes !== undefined && { bytes: progress.bytes }),
    ...(progress.totalBytes !== undefined && { totalBytes: progress.totalBytes }),
    ...(percent !== undefined && { percent }),
    ...(progress.bytes !== undefined &&
      seconds !== undefined &&
      seconds > 0 && { bytesPerSecond: Math.round(progress.bytes / seconds) }),
  };
}
