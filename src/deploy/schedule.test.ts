import { describe, expect, it } from 'vitest';
import { maxIntervalHours, validateSchedule } from './schedule.ts';

describe('schedules', () => {
  it.each([
    [{ cron: '0 3 * * ? *' }, 'cron(0 3 * * ? *)', 24],
    [{ cron: '30 2 ? * MON *' }, 'cron(30 2 ? * MON *)', 168],
    [{ cron: '0 */6 * * ? *' }, 'cron(0 */6 * * ? *)', 6],
    [{ cron: '0 1 ? * MON-FRI *' }, 'cron(0 1 ? * MON-FRI *)', 72],
    [{ cron: '0 4 L * ? *' }, 'cron(0 4 L * ? *)', 744],
    [{ rate: '12 hours' }, 'rate(12 hours)', 12],
    [{ rate: '1 days' }, 'rate(1 day)', 24],
  ])('%j → %s, at most %d hours apart', (schedule, expression, hours) => {
    expect(validateSchedule(schedule, 'targets.orders.schedule')).toBe(expression);
    expect(maxIntervalHours(schedule, 'targets.orders.schedule')).toBe(hours);
  });

  it.each([
    [
      { cron: '0 3 * * *' },
      'targets.orders.schedule.cron: "0 3 * * *" has 5 fields; a cron expression has six: minutes hours day-of-month month day-of-week year (e.g. "0 3 * * ? *")',
    ],
    [{ cron: '0 3 * * * *' }, 'exactly one of day-of-month and day-of-week must be "?"'],
    [{ cron: '0 25 * * ? *' }, 'targets.orders.schedule.cron: "0 25 * * ? *": hours "25": "25" is out of range (0-23)'],
    [{ cron: '0 3 ? * FUNDAY *' }, 'day-of-week "FUNDAY": "FUNDAY" is out of range (1-7 or SUN-SAT)'],
    [
      { rate: 'every day' },
      'targets.orders.schedule.rate: "every day" is not a rate; write e.g. "12 hours", "1 day" or "30 minutes"',
    ],
  ])('%j is refused', (schedule, message) => {
    expect(() => validateSchedule(schedule, 'targets.orders.schedule')).toThrow(message);
  });
});
