import { describe, expect, it } from 'vitest';
import type { RetentionPolicy } from '../config/schema.ts';
import { applyRetention, periodKey } from './retention.ts';

const at = (iso: string) => ({ id: iso, createdAt: new Date(iso) });
const kept = (
  backups: { id: string; createdAt: Date }[],
  policy: RetentionPolicy,
  zone = 'UTC',
  now = '2026-12-31T12:00:00Z',
) => applyRetention(backups, policy, zone, new Date(now)).keep.map((k) => k.backup.id);

describe('period keys in the target’s time zone', () => {
  it.each([
    // A backup at 23:30 UTC is the next day in Lisbon in summer (UTC+1), the same day in winter.
    ['2026-07-14T23:30:00Z', 'daily', 'Europe/Lisbon', '2026-07-15'],
    ['2026-01-14T23:30:00Z', 'daily', 'Europe/Lisbon', '2026-01-14'],
    // The spring-forward night: 00:30 and 02:30 local are both 29 March.
    ['2026-03-29T00:30:00Z', 'daily', 'Europe/Lisbon', '2026-03-29'],
    ['2026-03-29T01:30:00Z', 'daily', 'Europe/Lisbon', '2026-03-29'],
    // New York is behind: the first hours of 1 December UTC are still November there.
    ['2026-12-01T03:00:00Z', 'monthly', 'America/New_York', '2026-11'],
    ['2026-12-01T03:00:00Z', 'monthly', 'UTC', '2026-12'],
    // Year ends: New Year's Eve in Tokyo is already next year.
    ['2026-12-31T16:00:00Z', 'yearly', 'Asia/Tokyo', '2027'],
    ['2026-12-31T16:00:00Z', 'yearly', 'UTC', '2026'],
    // ISO weeks across the year end: 31 Dec 2026 (Thu) and 1 Jan 2027 (Fri) are 2026-W53;
    // 29 Dec 2025 (Mon) is 2026-W01.
    ['2026-12-31T12:00:00Z', 'weekly', 'UTC', '2026-W53'],
    ['2027-01-01T12:00:00Z', 'weekly', 'UTC', '2026-W53'],
    ['2025-12-29T12:00:00Z', 'weekly', 'UTC', '2026-W01'],
    ['2026-11-22T23:30:00Z', 'weekly', 'Europe/Berlin', '2026-W48'],
  ] as const)('%s %s in %s → %s', (iso, period, zone, key) => {
    expect(periodKey(new Date(iso), period, zone)).toBe(key);
  });
});

describe('retention', () => {
  const nightly = Array.from({ length: 40 }, (_, i) => at(new Date(Date.UTC(2026, 10, 22 - i, 3)).toISOString()));

  it('keepLast keeps the newest N', () => {
    expect(kept(nightly, { keepLast: 3 })).toEqual(nightly.slice(0, 3).map((b) => b.id));
  });

  it('daily keeps the newest backup of each of the last N days that have one', () => {
    const twiceADay = [
      at('2026-11-22T15:00:00Z'),
      at('2026-11-22T03:00:00Z'),
      at('2026-11-21T15:00:00Z'),
      at('2026-11-21T03:00:00Z'),
      at('2026-11-19T03:00:00Z'),
    ];
    expect(kept(twiceADay, { daily: 3 })).toEqual([
      '2026-11-22T15:00:00Z',
      '2026-11-21T15:00:00Z',
      '2026-11-19T03:00:00Z',
    ]);
  });

  it('counts days in the target’s time zone, not UTC', () => {
    // In Lisbon (UTC+1 in summer) these two are the same day; in UTC they are two.
    const backups = [at('2026-07-15T00:30:00Z'), at('2026-07-14T23:30:00Z')];
    expect(kept(backups, { daily: 2 }, 'UTC')).toHaveLength(2);
    expect(kept(backups, { daily: 2 }, 'Europe/Lisbon')).toEqual(['2026-07-15T00:30:00Z']);
  });

  it('GFS: keeps last 3, 7 dailies, 4 weeklies and 12 monthlies together', () => {
    const result = applyRetention(
      nightly,
      { keepLast: 3, daily: 7, weekly: 4, monthly: 12 },
      'UTC',
      new Date('2026-11-22T12:00:00Z'),
    );
    const ids = result.keep.map((k) => k.backup.id.slice(0, 10));
    // 7 dailies (22–16 Nov), the newest of 4 ISO weeks (22, 15, 8, 1 Nov — Sundays), and the newest
    // of each month (Nov 22, Oct 31).
    expect(ids).toEqual([
      '2026-11-22',
      '2026-11-21',
      '2026-11-20',
      '2026-11-19',
      '2026-11-18',
      '2026-11-17',
      '2026-11-16',
      '2026-11-15',
      '2026-11-08',
      '2026-11-01',
      '2026-10-31',
    ]);
    expect(result.keep[0]!.reasons).toEqual(['last 1', 'daily 2026-11-22', 'weekly 2026-W47', 'monthly 2026-11']);
    expect(result.remove).toHaveLength(40 - 11);
  });

  it('yearly keeps the newest of each year, across the year end', () => {
    const backups = [
      at('2027-01-01T03:00:00Z'),
      at('2026-12-31T03:00:00Z'),
      at('2026-06-01T03:00:00Z'),
      at('2025-12-31T03:00:00Z'),
    ];
    expect(kept(backups, { yearly: 2 }, 'UTC', '2027-01-01T12:00:00Z')).toEqual([
      '2027-01-01T03:00:00Z',
      '2026-12-31T03:00:00Z',
    ]);
  });

  it('maxAgeDays alone keeps what is younger; with rules it caps them', () => {
    expect(kept(nightly, { maxAgeDays: 5 }, 'UTC', '2026-11-22T12:00:00Z')).toHaveLength(5);
    expect(kept(nightly, { monthly: 12, maxAgeDays: 10 }, 'UTC', '2026-11-22T12:00:00Z')).toEqual([
      '2026-11-22T03:00:00.000Z',
    ]);
  });

  it('never removes the newest backup, even when every rule would', () => {
    const old = [at('2020-01-01T00:00:00Z'), at('2019-01-01T00:00:00Z')];
    const result = applyRetention(old, { maxAgeDays: 1 }, 'UTC', new Date('2026-11-22T00:00:00Z'));
    expect(result.keep.map((k) => [k.backup.id, k.reasons])).toEqual([['2020-01-01T00:00:00Z', ['newest']]]);
    expect(result.remove.map((b) => b.id)).toEqual(['2019-01-01T00:00:00Z']);
  });

  it('keeps nothing extra and removes nothing from an empty list', () => {
    expect(applyRetention([], { keepLast: 1 }, 'UTC', new Date())).toEqual({ keep: [], remove: [] });
  });
});
