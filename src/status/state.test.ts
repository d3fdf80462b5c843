import { describe, expect, it } from 'vitest';
import { escapeHtml } from './escape.ts';
import { describeAge, targetState } from './state.ts';

const now = new Date('2026-12-05T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const daily = { cron: '0 3 * * ? *' };

describe('targetState', () => {
  it('is ok within the schedule and its allowance', () => {
    expect(targetState({ target: 't', schedule: daily, lastSuccess: hoursAgo(31), now })).toEqual({
      state: 'ok',
      reason: 'on schedule',
    });
  });

  it('is late past the longest gap and a quarter more, plus an hour (as the deployed alarm)', () => {
    expect(targetState({ target: 't', schedule: daily, lastSuccess: hoursAgo(32), now })).toEqual({
      state: 'late',
      reason: 'no success for 1d 8h; the schedule allows 1d 7h',
    });
  });

  it('is late when a scheduled target has no backup at all', () => {
    expect(targetState({ target: 't', schedule: { rate: '6 hours' }, now }).state).toBe('late');
  });

  it('is failed when the last run failed after the last success, ok again after a newer success', () => {
    expect(
      targetState({ target: 't', schedule: daily, lastSuccess: hoursAgo(3), lastFailure: hoursAgo(1), now }),
    ).toEqual({ state: 'failed', reason: 'the last run failed' });
    expect(
      targetState({ target: 't', schedule: daily, lastSuccess: hoursAgo(1), lastFailure: hoursAgo(3), now }).state,
    ).toBe('ok');
  });

  it('never calls an unscheduled or disabled target late', () => {
    expect(targetState({ target: 't', lastSuccess: hoursAgo(900), now }).state).toBe('ok');
    expect(targetState({ target: 't', schedule: { ...daily, enabled: false }, now }).state).toBe('ok');
  });
});

describe('describeAge', () => {
  it.each([
    [30, '30.0s'],
    [125, '2m'],
    [3_700, '1h 1m'],
    [90_061, '1d 1h'],
  ])('%i seconds read %s', (seconds, text) => expect(describeAge(seconds)).toBe(text));
});

describe('escapeHtml', () => {
  it('leaves no markup, attribute quote or entity of its own', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
  });
});
