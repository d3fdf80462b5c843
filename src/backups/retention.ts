/**
 * Which backups a retention policy keeps. A pure function of the backups' creation times (from
 * their manifests, never from storage timestamps), the policy, the target's time zone and now.
 *
 * - keepLast N: the N newest.
 * - daily/weekly/monthly/yearly N: the newest backup of each of the N most recent days (ISO
 *   weeks, months, years) that have one, in the target's time zone.
 * - maxAgeDays N: nothing older than N days; alone, it keeps everything younger.
 * - The newest backup is always kept, whatever the policy says.
 */
import type { RetentionPolicy } from '../config/schema.ts';

export interface Dated {
  createdAt: Date;
}

export interface RetentionOutcome<T extends Dated> {
  keep: { backup: T; reasons: string[] }[];
  remove: T[];
}

type Period = 'daily' | 'weekly' | 'monthly' | 'yearly';
const PERIODS: Period[] = ['daily', 'weekly', 'monthly', 'yearly'];
const DAY_MS = 24 * 60 * 60 * 1000;

export function applyRetention<T extends Dated>(
  backups: readonly T[],
  policy: RetentionPolicy,
  timeZone: string,
  now: Date,
): RetentionOutcome<T> {
  const newestFirst = [...backups].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const reasons = new Map<T, string[]>();
  const mark = (backup: T, reason: string) => reasons.set(backup, [...(reasons.get(backup) ?? []), reason]);

  for (const [i, b] of newestFirst.slice(0, policy.keepLast ?? 0).entries()) mark(b, `last ${i + 1}`);
  for (const period of PERIODS) {
    const count = policy[period] ?? 0;
    const seen = new Set<string>();
    for (const backup of newestFirst) {
      if (seen.size >= count) break;
      const bucket = periodKey(backup.createdAt, period, timeZone);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      mark(backup, `${period} ${bucket}`);
    }
  }
  const hasCountRules = policy.keepLast !== undefined || PERIODS.some((p) => policy[p] !== undefined);
  if (policy.maxAgeDays !== undefined) {
    const limit = now.getTime() - policy.maxAgeDays * DAY_MS;
    for (const backup of newestFirst) {
      const young = backup.createdAt.getTime() >= limit;
      if (!young) reasons.delete(backup);
      else if (!hasCountRules) mark(backup, `within ${policy.maxAgeDays} days`);
    }
  }
  const newest = newestFirst[0];
  if (newest && !reasons.has(newest)) mark(newest, 'newest');

  return {
    keep: newestFirst.filter((b) => reasons.has(b)).map((backup) => ({ backup, reasons: reasons.get(backup)! })),
    remove: newestFirst.filter((b) => !reasons.has(b)),
  };
}

/** The calendar day, ISO week, month or year of an instant, as seen in a time zone. */
export function periodKey(instant: Date, period: Period, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  ) as { year: string; month: string; day: string };
  switch (period) {
    case 'daily':
      return `${parts.year}-${parts.month}-${parts.day}`;
    case 'monthly':
      return `${parts.year}-${parts.month}`;
    case 'yearly':
      return parts.year;
    case 'weekly': {
      const { year, week } = isoWeek(Number(parts.year), Number(parts.month), Number(parts.day));
      return `${year}-W${String(week).padStart(2, '0')}`;
    }
  }
}

/** ISO 8601 week of a calendar date: weeks start on Monday, week 1 holds the year's first Thursday. */
function isoWeek(year: number, month: number, day: number): { year: number; week: number } {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const weekYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(weekYear, 0, 1)) / DAY_MS + 1) / 7);
  return { year: weekYear, week };
}
