import { describe, expect, it } from 'vitest';
import { formatRun, nextRuns } from './next-runs.ts';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('nextRuns', () => {
  it('finds the next three daily runs in the zone, across a daylight-saving change', () => {
    // Lisbon leaves summer time on 2026-10-25: 03:00 local is 02:00 UTC before, 03:00 UTC after.
    const runs = nextRuns('0 3 * * ? *', 'Europe/Lisbon', new Date('2026-10-23T12:00:00Z'), 3);
    expect(iso(runs)).toEqual(['2026-10-24T02:00:00.000Z', '2026-10-25T03:00:00.000Z', '2026-10-26T03:00:00.000Z']);
  });

  it('skips today when its time has passed, and reads weekdays as EventBridge numbers them (1 = Sunday)', () => {
    const runs = nextRuns('30 1 ? * 2,6 *', 'UTC', new Date('2026-12-07T02:00:00Z'), 3); // a Monday, after 01:30
    expect(iso(runs)).toEqual(['2026-12-11T01:30:00.000Z', '2026-12-14T01:30:00.000Z', '2026-12-18T01:30:00.000Z']);
  });

  it('understands L, W and #', () => {
    const after = new Date('2027-01-01T00:00:00Z');
    expect(iso(nextRuns('0 0 L * ? *', 'UTC', after, 2))).toEqual([
      '2027-01-31T00:00:00.000Z',
      '2027-02-28T00:00:00.000Z',
    ]);
    // 2027-05-01 is a Saturday: the nearest weekday to the 1st is Monday the 3rd.
    expect(iso(nextRuns('0 0 1W 5 ? *', 'UTC', after, 1))).toEqual(['2027-05-03T00:00:00.000Z']);
    // The second Tuesday of each month.
    expect(iso(nextRuns('0 0 ? * 3#2 *', 'UTC', after, 2))).toEqual([
      '2027-01-12T00:00:00.000Z',
      '2027-02-09T00:00:00.000Z',
    ]);
    // The last Friday.
    expect(iso(nextRuns('0 0 ? * FRIL *', 'UTC', after, 1))).toEqual(['2027-01-29T00:00:00.000Z']);
  });

  it('stops at a year field that has passed', () => {
    expect(nextRuns('0 3 * * ? 2020', 'UTC', new Date('2026-01-01T00:00:00Z'), 3)).toEqual([]);
  });

  it('prints the zone’s wall clock, with UTC beside it', () => {
    expect(formatRun(new Date('2026-07-01T02:00:00Z'), 'Europe/Lisbon')).toBe(
      '2026-07-01 03:00 Europe/Lisbon (02:00 UTC)',
    );
    expect(formatRun(new Date('2026-07-01T02:00:00Z'), 'UTC')).toBe('2026-07-01 02:00 UTC');
    expect(formatRun(new Date('2026-12-06T03:00:00Z'), 'Europe/Lisbon')).toBe('2026-12-06 03:00 Europe/Lisbon');
    expect(formatRun(new Date('2026-12-06T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-12-07 08:30 Asia/Tokyo (23:30 UTC)');
  });
});
