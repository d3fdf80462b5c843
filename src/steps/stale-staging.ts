/**
 * Staging left behind by runs that never reached Cleanup: a process killed with SIGKILL, a
 * machine that lost power, an execution stopped by its timeout (which no Catch can see). Each run
 * removes the run folders in its staging root that nothing has written to for longer than any
 * run can last: such a folder cannot belong to a run still going, whichever target it is for.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import definition from '../../statemachine/backup.asl.json' with { type: 'json' };

/** A run folder's name, as backups/naming.ts's runId makes it: `<target>-<YYYYMMDDTHHMMSSZ>-<8 hex>`. */
const RUN_FOLDER = /^.+-\d{8}T\d{6}Z-[0-9a-f]{8}$/;

/**
 * The longest a run can last: Step Functions stops an execution at the state machine's
 * TimeoutSeconds. Without one, the sum over Task states of their timeout times their attempts.
 */
export function longestRunMs(
  machine: { TimeoutSeconds?: unknown; States: Record<string, unknown> } = definition,
): number {
  if (typeof machine.TimeoutSeconds === 'number') return machine.TimeoutSeconds * 1000;
  let seconds = 0;
  for (const state of Object.values(machine.States) as {
    Type?: string;
    TimeoutSeconds?: number;
    Retry?: { MaxAttempts?: number }[];
  }[]) {
    if (state.Type !== 'Task') continue;
    // The language's defaults: 3 attempts per retrier; a Task without a timeout may run 99999999 s.
    const attempts = 1 + (state.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);
    seconds += (state.TimeoutSeconds ?? 99_999_999) * attempts;
  }
  return seconds * 1000;
}

/** The last time anything was written in a folder: the folder itself or any file in it. */
async function lastWritten(folder: string): Promise<number> {
  let newest = (await stat(folder)).mtimeMs;
  for (const entry of await readdir(folder, { recursive: true })) {
    const info = await stat(path.join(folder, String(entry))).catch(() => undefined);
    if (info && info.mtimeMs > newest) newest = info.mtimeMs;
  }
  return newest;
}

/**
 * Removes the run folders under `root` untouched for longer than `maxAgeMs`, except `keep` (the
 * current run's). Ages are measured by the file system's clock, as mtimes are. Other entries, and
 * anything that disappears meanwhile, are left alone.
 */
export async function removeStaleRuns(
  root: string,
  options: { maxAgeMs: number; keep?: string; now?: number },
): Promise<string[]> {
  const now = options.now ?? Date.now();
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !RUN_FOLDER.test(entry.name) || entry.name === options.keep) continue;
    const folder = path.join(root, entry.name);
    const written = await lastWritten(folder).catch(() => undefined);
    if (written === undefined || now - written <= options.maxAgeMs) continue;
    await rm(folder, { recursive: true, force: true });
    removed.push(folder);
  }
  return removed;
}
