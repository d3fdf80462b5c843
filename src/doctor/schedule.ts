/** When the target runs next: three times of its schedule, in the schedule's time zone. */
import { formatRun, nextRuns } from './next-runs.ts';
import type { Check } from './types.ts';
import { fail, ok, skip } from './types.ts';

export const scheduleCheck: Check = {
  id: 'schedule',
  name: 'schedule',
  async run({ target, now }) {
    const schedule = target.schedule;
    if (!schedule) return [skip('schedule', 'no schedule: the target is backed up when started (run, start)')];
    const timezone = schedule.timezone ?? target.timezone;
    const state = schedule.enabled === false ? ' (disabled: enabled is false)' : '';
    if (schedule.rate !== undefined)
      return [ok('schedule', `every ${schedule.rate.trim()}, counted from when the schedule is deployed${state}`)];
    const runs = nextRuns(schedule.cron!, timezone, now(), 3);
    if (runs.length === 0)
      return [
        fail(
          'schedule',
          `cron(${schedule.cron}) has no run in the next ten years`,
          `fix targets.${target.name}.schedule.cron (its year field?)`,
        ),
      ];
    return [ok('schedule', `next: ${runs.map((r) => formatRun(r, timezone)).join(', ')}${state}`)];
  },
};
