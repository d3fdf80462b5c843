/**
 * When an EventBridge Scheduler cron expression fires next, in its time zone: the minutes and
 * hours of the local wall clock on each local day that matches, turned into instants. L, W and #
 * are understood as Scheduler documents them (last day, nearest weekday, nth weekday of the month).
 */
import { parseCron } from '../deploy/schedule.ts';

const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** The next `count` instants after `after` (at most ten years ahead). */
export function nextRuns(expression: string, timezone: string, after: Date, count: number): Date[] {
  const cron = parseCron(expression, 'schedule.cron');
  const parts = expression.trim().split(/\s+/);
  const [minutes, hours, , months, , years] = cron.values;
  const runs: Date[] = [];
  const start = localDate(after, timezone);
  for (let day = 0; day < 3660 && runs.length < count; day++) {
    const date = new Date(Date.UTC(start.year, start.month - 1, start.day + day));
    const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    if (years && !years.has(y)) continue;
    if (!months!.has(m)) continue;
    if (!dayMatches(parts[2]!, parts[4]!, cron.values[2], cron.values[4], y, m, d)) continue;
    for (const hour of [...hours!].sort((a, b) => a - b)) {
      for (const minute of [...minutes!].sort((a, b) => a - b)) {
        const instant = zonedToUtc(y, m, d, hour, minute, timezone);
        if (instant > after && runs.length < count) runs.push(instant);
      }
    }
  }
  return runs;
}

function dayMatches(
  domPart: string,
  dowPart: string,
  dom: Set<number> | undefined,
  dow: Set<number> | undefined,
  y: number,
  m: number,
  d: number,
): boolean {
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const weekday = (day: number) => new Date(Date.UTC(y, m - 1, day)).getUTCDay();
  if (domPart !== '?') {
    if (dom) return dom.has(d);
    const upper = domPart.toUpperCase();
    if (upper === 'L') return d === last;
    const offset = /^L-(\d+)$/.exec(upper);
    if (offset) return d === last - Number(offset[1]);
    const nearest = /^(\d+|L)W$/.exec(upper);
    if (nearest) return d === nearestWeekday(nearest[1] === 'L' ? last : Number(nearest[1]), last, weekday);
    return false;
  }
  if (dow) return dow.has(weekday(d) + 1);
  const upper = dowPart.toUpperCase();
  const dayNumber = (text: string) => (/^\d$/.test(text) ? Number(text) - 1 : WEEKDAYS.indexOf(text));
  const lastOf = /^(\w{1,3})L$/.exec(upper);
  if (lastOf) return weekday(d) === dayNumber(lastOf[1]!) && d + 7 > last;
  const nth = /^(\w{1,3})#(\d)$/.exec(upper);
  if (nth) return weekday(d) === dayNumber(nth[1]!) && Math.ceil(d / 7) === Number(nth[2]);
  return false;
}

function nearestWeekday(day: number, last: number, weekday: (day: number) => number): number {
  const w = weekday(day);
  if (w === 6) return day === 1 ? 3 : day - 1;
  if (w === 0) return day === last ? day - 2 : day + 1;
  return day;
}

function localDate(instant: Date, timezone: string): { year: number; month: number; day: number } {
  const p = fields(instant, timezone);
  return { year: p.year, month: p.month, day: p.day };
}

function fields(instant: Date, timezone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute') };
}

/** The instant a wall-clock time in the zone names (the later reading, in a DST gap). */
export function zonedToUtc(y: number, m: number, d: number, hour: number, minute: number, timezone: string): Date {
  const wall = Date.UTC(y, m - 1, d, hour, minute);
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const seen = fields(new Date(guess), timezone);
    const seenWall = Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute);
    if (seenWall === wall) break;
    guess += wall - seenWall;
  }
  return new Date(guess);
}

/** `2026-12-06 03:00 Europe/Lisbon (03:00 UTC)`: the zone's wall clock first, as the schedule reads it. */
export function formatRun(instant: Date, timezone: string): string {
  const p = fields(instant, timezone);
  const two = (n: number) => String(n).padStart(2, '0');
  const local = `${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)} ${timezone}`;
  const utc = `${two(instant.getUTCHours())}:${two(instant.getUTCMinutes())}`;
  // UTC beside it only where it reads differently (not in UTC, nor in Lisbon's winter).
  if (instant.toISOString().slice(0, 16) === `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`)
    return local;
  return `${local} (${utc} UTC)`;
}
