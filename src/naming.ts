/**
 * Names derived from a run: its id, the dump's file name and the object key. Every name comes
 * from the execution's start time, so a retried step computes the same names again.
 *
 * Layout: `<prefix>/<target>/<YYYYMMDD>/<target>-<YYYYMMDDTHHMMSSZ>.<ext>` plus `.manifest.json`.
 */
import { createHash } from 'node:crypto';

export const MANIFEST_SUFFIX = '.manifest.json';

/** `2026-11-22T23:53:27.123Z` → `20261122T235327Z` (UTC, to the second). */
export function compactTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

export function dateFolder(date: Date): string {
  return compactTimestamp(date).slice(0, 8);
}

/** A run id unique per execution even when two start in the same second. */
export function runId(target: string, startedAt: Date, executionId: string): string {
  const suffix = createHash('sha256').update(executionId).digest('hex').slice(0, 8);
  return `${target}-${compactTimestamp(startedAt)}-${suffix}`;
}

export function dumpFileName(target: string, startedAt: Date, extension: string): string {
  return `${target}-${compactTimestamp(startedAt)}${extension}`;
}

export function objectKey(target: string, startedAt: Date, extension: string): string {
  return `${target}/${dateFolder(startedAt)}/${dumpFileName(target, startedAt, extension)}`;
}

/** Joins a destination's prefix and a key, ignoring empty parts and stray slashes. */
export function withPrefix(prefix: string | undefined, key: string): string {
  return [...(prefix ?? '').split('/'), ...key.split('/')].filter(Boolean).join('/');
}

export function manifestKey(key: string): string {
  return `${key}${MANIFEST_SUFFIX}`;
}
