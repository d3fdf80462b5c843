/**
 * Every string in a config, keys included, is checked before the schema sees it: a bounded
 * length, and no control characters. A value is a name, a path, a URL or a reference; none of
 * them has a reason to carry a newline, a NUL or ten megabytes, and each of those has been a
 * way to smuggle something into a tool's arguments, an option file or a log line.
 */
import { formatPath } from './issues.ts';

/** Longer than any name, path, ARN or URL a config needs (an ARN is at most 2048). */
export const MAX_CONFIG_STRING = 2048;

// C0 controls, DEL and C1 controls; tabs and newlines included.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const CONTROL_NAMES: Record<string, string> = {
  '\t': 'a tab',
  '\n': 'a newline',
  '\r': 'a carriage return',
  '\u0000': 'a NUL byte',
};

/** One sentence per string that breaks a rule, each naming its path and what to do. */
export function stringIssues(data: unknown, path: (string | number)[] = []): string[] {
  if (typeof data === 'string') return describe(data, path, 'value');
  if (Array.isArray(data)) return data.flatMap((item, i) => stringIssues(item, [...path, i]));
  if (data === null || typeof data !== 'object') return [];
  return Object.entries(data).flatMap(([key, value]) => {
    const keyProblems = describe(key, [...path, preview(key)], 'key');
    // A key that breaks a rule is reported once; what sits under it can wait for the fix.
    return keyProblems.length > 0 ? keyProblems : stringIssues(value, [...path, key]);
  });
}

function describe(text: string, path: (string | number)[], what: 'key' | 'value'): string[] {
  const where = formatPath(path);
  if (text.length > MAX_CONFIG_STRING) {
    return [
      `${where}: this ${what} is ${text.length} characters long; at most ${MAX_CONFIG_STRING} are allowed (a config holds names, paths and references, never data)`,
    ];
  }
  const control = CONTROL.exec(text)?.[0];
  if (control !== undefined) {
    const name =
      CONTROL_NAMES[control] ??
      `the control character U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    return [`${where}: this ${what} contains ${name}; write it on one line with printable characters only`];
  }
  return [];
}

/** A key as it can be shown: escaped, and short. */
function preview(key: string): string {
  const shown = JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
  return shown.slice(1, -1);
}
