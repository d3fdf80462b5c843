/**
 * The environment a dump tool runs with: only what it needs. Inheriting the caller's PG* or
 * MYSQL_* variables would let a stray PGDATABASE or PGSSLMODE change what gets dumped.
 */
export function toolEnvironment(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Messages in English: errors are classified by their text.
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
  };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  if (process.env.HOME) env.HOME = process.env.HOME;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** The first line of a tool's stderr that says what went wrong. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|fatal|failed|denied|refused|can't|cannot|unknown/i.test(l)) ?? lines[0] ?? '(no message)';
}
