/**
 * A target's state against its schedule. Late means no success for longer than the schedule's
 * longest gap and a quarter more (plus an hour): the same allowance as the deployed
 * NoRecentBackup alarm (src/deploy/monitoring.ts), so the page and the alarm agree.
 */
import type { ScheduleConfig } from '../config/schema.ts';
import { maxIntervalHours } from '../deploy/schedule.ts';
import { formatSeconds } from '../text/format.ts';
import type { TargetState } from './model.ts';

const HOUR_MS = 3_600_000;

export function allowedGapMs(schedule: ScheduleConfig, target: string): number {
  const interval = maxIntervalHours(schedule, `targets.${target}.schedule`);
  return (Math.ceil(interval * 1.25) + 1) * HOUR_MS;
}

export function targetState(input: {
  target: string;
  schedule?: ScheduleConfig;
  lastSuccess?: Date;
  lastFailure?: Date;
  now: Date;
}): { state: TargetState; reason: string } {
  const { lastSuccess, lastFailure, now } = input;
  if (lastFailure && (!lastSuccess || lastFailure > lastSuccess))
    return { state: 'failed', reason: 'the last run failed' };
  const scheduled = input.schedule && input.schedule.enabled !== false;
  if (!scheduled || !input.schedule)
    return {
      state: 'ok',
      reason: lastSuccess ? 'not scheduled; backed up when started' : 'not scheduled; no backup yet',
    };
  const allowed = allowedGapMs(input.schedule, input.target);
  if (!lastSuccess) return { state: 'late', reason: 'scheduled, but no backup is stored yet' };
  const age = now.getTime() - lastSuccess.getTime();
  if (age > allowed)
    return {
      state: 'late',
      reason: `no success for ${describeAge(age / 1000)}; the schedule allows ${describeAge(allowed / 1000)}`,
    };
  return { state: 'ok', reason: 'on schedule' };
}

/** 90061 → "1d 1h", 3700 → "1h 1m": an age as a person reads it. */
export function describeAge(seconds: number): string {
  if (seconds < 60) return formatSeconds(Math.max(0, seconds));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (days > 0) return `${days}d ${hours % 24}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}
