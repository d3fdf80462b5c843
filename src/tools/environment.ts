/**
 * The environment every database tool runs with (dump, restore, the drill, the `--version` probe):
 * only what it needs, never the caller's environment wholesale. That environment holds other
 * targets' passwords, AWS keys and the like, which a child has no business seeing; and a stray
 * PGDATABASE or PGSSLMODE inherited from it would change what gets dumped or where a restore goes.
 * HOME stays so that a user's ~/.pgpass still works; TMPDIR and TZ so that tools behave as here.
 */
export function toolEnvironment(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // Messages in English: errors are classified by their text.
    LC_ALL: 'C.UTF-8',
    LANG: 'C.UTF-8',
  };
  for (const name of ['HOME', 'TMPDIR', 'TZ'] as const) if (process.env[name]) env[name] = process.env[name];
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** The first line of a tool's stderr that says what went wrong. */
export function firstErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    lines.find((l) => /error|fatal|failed|denied|refused|can't|cannot|unknown/i.test(l)) ?? lines[0] ?? '(no message)'
  );
}
