/**
 * Names derived from a run: its id, the dump's file name and the object key. Every name comes
 * from the execution's start time and id, so a retried step computes the same names again, while
 * two executions that start in the same second (the scheduler delivers at least once) never
 * share a key.
 *
 * Layout: `<prefix>/<target>/<YYYYMMDD>/<target>-<YYYYMMDDTHHMMSSZ>-<run suffix>.<ext>` plus
 * `.manifest.json`.
 */
import { createHash } from 'node:crypto';

export const MANIFEST_SUFFIX = '.manifest.json';

/** `2026-11-22T23:53:27.123Z` → `20261122T235327Z` (UTC, to the second). */
export function compactTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export function dateFolder(date: Date): string {
  return compactTimestamp(date).slice(0, 8);
}

/** Eight hex digits of the execution id's hash: what tells two runs of one second apart. */
export function runSuffix(executionId: string): string {
  return createHash('sha256').update(executionId).digest('hex').slice(0, 8);
}

/** A run id unique per execution even when two start in the same second. */
export function runId(target: string, startedAt: Date, executionId: string): string {
  return `${target}-${compactTimestamp(startedAt)}-${runSuffix(executionId)}`;
}

export function dumpFileName(target: string, startedAt: Date, executionId: string, extension: string): string {
  return `${runId(target, startedAt, executionId)}${extension}`;
}

export function objectKey(target: string, startedAt: Date, executionId: string, extension: string): string {
  return `${target}/${dateFolder(startedAt)}/${dumpFileName(target, startedAt, executionId, extension)}`;
}

/** Joins a destination's prefix and a key, ignoring empty parts and stray slashes. */
export function withPrefix(prefix: string | undefined, key: string): string {
  return [...(prefix ?? '').split('/'), ...key.split('/')].filter(Boolean).join('/');
}

export function manifestKey(key: string): string {
  return `${key}${MANIFEST_SUFFIX}`;
}
