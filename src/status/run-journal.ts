/**
 * The runs of a target on this machine (`stepvault run`, and the executions `stepvault serve` runs), one JSON
 * line each, kept beside its staging folder
 * (`.stepvault/runs.jsonl` by default). Manifests only exist for backups that succeeded, so this
 * journal is where the status page learns of local failures and restore drills; deployed runs
 * are in the Step Functions history instead (`stepvault status`).
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunOutcome } from '../local/runner.ts';
import { redact } from '../redact.ts';
import { readableCause } from '../text/cause.ts';

export interface JournalEntry {
  target: string;
  status: RunOutcome['status'];
  finishedAt: string;
  failedState?: string;
  error?: string;
  /** Redacted before it is written: the journal is shown as it is. */
  cause?: string;
  drill?: { tables: number; rows: number; seconds: number };
  drillSkipped?: string;
}

/** The journal of the target whose staging folder is `staging`. */
export function journalFile(staging: string): string {
  return path.join(path.dirname(staging), 'runs.jsonl');
}

export function journalEntry(target: string, outcome: RunOutcome, finishedAt: Date): JournalEntry {
  const verify = outcome.output?.verify;
  return {
    target,
    status: outcome.status,
    finishedAt: finishedAt.toISOString(),
    ...(outcome.failedState && { failedState: outcome.failedState }),
    ...(outcome.error && { error: redact(outcome.error) }),
    ...(outcome.cause && { cause: redact(readableCause(outcome.cause)) }),
    ...(verify?.drill && {
      drill: { tables: verify.drill.tables, rows: verify.drill.rows, seconds: verify.drill.seconds },
    }),
    ...(verify?.drillSkipped && { drillSkipped: redact(verify.drillSkipped) }),
  };
}

export async function recordRun(file: string, entry: JournalEntry): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(entry)}\n`);
}

/** The target's entries, oldest first; a missing journal is an empty one, a torn line is skipped. */
export async function readRuns(file: string, target: string): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (entry.target === target && typeof entry.finishedAt === 'string') entries.push(entry);
    } catch {
      // A line cut short by a crash mid-write: the others still count.
    }
  }
  return entries;
}
