/**
 * EventBridge Scheduler expressions: `cron(min hour day-of-month month day-of-week year)` and
 * `rate(N unit)`. Parsed to reject a wrong one at packaging time with the reason, and to know
 * the longest gap between two runs (what a "no recent backup" alarm must allow for).
 */
import type { ScheduleConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** The first name stands for `min`. */
}

const FIELDS: Field[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS },
  { name: 'year', min: 1970, max: 2199 },
];

export interface ParsedCron {
  /** Allowed values per field; day fields are undefined when `?` or special (L, W, #). */
  values: (Set<number> | undefined)[];
  special: boolean;
}

export function parseCron(expression: string, where: string): ParsedCron {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6) {
    throw new ConfigError(
      `${where}: "${expression}" has ${parts.length} fields; a cron expression has six: minutes hours day-of-month month day-of-week year (e.g. "0 3 * * ? *")`,
    );
  }
  const [, , dom, , dow] = parts;
  if ((dom === '?') === (dow === '?')) {
    throw new ConfigError(
      `${where}: "${expression}": exactly one of day-of-month and day-of-week must be "?" (e.g. "0 3 * * ? *" or "0 3 ? * MON *")`,
    );
  }
  let special = false;
  const values = parts.map((part, i) => {
    const field = FIELDS[i]!;
    if (part === '?') return undefined;
    if ((i === 2 && /[LW]/.test(part)) || (i === 4 && /[L#]/.test(part))) {
      special = true;
      if (!/^(L|LW|\d{1,2}W|L-\d{1,2}|[1-7A-Z]{1,3}L|[1-7A-Z]{1,3}#[1-5])$/i.test(part))
        throw new ConfigError(`${where}: "${expression}": ${field.name} "${part}" is not valid`);
      return undefined;
    }
    return parseField(part, field, `${where}: "${expression}": ${field.name}`);
  });
  return { values, special };
}

function parseField(part: string, field: Field, where: string): Set<number> {
  const result = new Set<number>();
  for (const item of part.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ConfigError(`${where} "${part}": the step "${stepText}" must be a whole number from 1`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [field.min, field.max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [from, to] = [value(a, field, where, part), value(b, field, where, part)];
    } else {
      from = value(range, field, where, part);
      to = stepText === undefined ? from : field.max;
    }
    if (from > to) throw new ConfigError(`${where} "${part}": the range runs backwards`);
    for (let v = from; v <= to; v += step) result.add(v);
  }
  return result;
}

function value(text: string, field: Field, where: string, part: string): number {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + field.min : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < field.min || n > field.max) {
    const allowed = field.names
      ? `${field.min}-${field.max} or ${field.names[0]}-${field.names.at(-1)}`
      : `${field.min}-${field.max}`;
    throw new ConfigError(`${where} "${part}": "${text}" is out of range (${allowed})`);
  }
  return n;
}

const RATE = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/;

export function validateSchedule(schedule: ScheduleConfig, where: string): string {
  if (schedule.cron !== undefined) {
    parseCron(schedule.cron, `${where}.cron`);
    return `cron(${schedule.cron.trim()})`;
  }
  const match = RATE.exec((schedule.rate ?? '').trim());
  if (!match || Number(match[1]) < 1) {
    throw new ConfigError(
      `${where}.rate: "${schedule.rate}" is not a rate; write e.g. "12 hours", "1 day" or "30 minutes"`,
    );
  }
  const [, n, unit] = match;
  const singular = unit!.replace(/s$/, '');
  return `rate(${n} ${n === '1' ? singular : `${singular}s`})`;
}

/** The longest gap between two runs, in hours (a cron with L, W or # counts as monthly). */
export function maxIntervalHours(schedule: ScheduleConfig, where: string): number {
  if (schedule.rate !== undefined) {
    const [, n, unit] = RATE.exec(schedule.rate.trim())!;
    const factor = unit!.startsWith('minute') ? 1 / 60 : unit!.startsWith('hour') ? 1 : 24;
    return Number(n) * factor;
  }
  const cron = parseCron(schedule.cron!, `${where}.cron`);
  if (cron.special) return 31 * 24;
  const [minutes, hours, dom, months, dow] = cron.values;
  // Walk four weeks hour by hour (minutes do not change the gap by more than an hour).
  const runs: number[] = [];
  const start = Date.UTC(2026, 0, 5); // a Monday
  for (let h = 0; h < 28 * 24 * 2; h++) {
    const t = new Date(start + h * 3_600_000);
    const matches =
      hours!.has(t.getUTCHours()) &&
      (months?.has(t.getUTCMonth() + 1) ?? true) &&
      (dom ? dom.has(t.getUTCDate()) : true) &&
      (dow ? dow.has(t.getUTCDay() + 1) : true);
    if (matches && minutes!.size > 0) runs.push(h);
  }
  if (runs.length < 2) return 31 * 24;
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!);
  return gap;
}
