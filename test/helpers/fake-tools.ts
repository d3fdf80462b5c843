/** Dump tools that misbehave on purpose, put first on STEPVAULT_TOOLS_DIR. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

export function realTool(name: string): string {
  return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
}

/** Writes an executable script `name` into `dir/bin`. */
export async function writeTool(dir: string, name: string, script: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  const file = path.join(dir, 'bin', name);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

/** A tool that answers --version truthfully, then passes on only the first `bytes` of the real output. */
export async function truncatingTool(dir: string, name: string, bytes: number, exitCode: number): Promise<void> {
  const real = realTool(name);
  await writeTool(
    dir,
    name,
    `case "$1" in --version) exec ${real} --version ;; esac
${real} "$@" | head -c ${bytes}
exit ${exitCode}`,
  );
}

/** A tool that records its arguments in `log`, then runs the real one. */
export async function recordingTool(dir: string, name: string, log: string): Promise<void> {
  await writeTool(dir, name, `printf '%s\\n' "$*" >> "${log}"\nexec ${realTool(name)} "$@"`);
}

/**
 * A tool that appends `=== name args` and then its whole environment to `log`, then runs the real one. The record is
 * written by one `cat`, a single append: tools started at the same moment (restore's `pg_restore --version` beside
 * psql) would otherwise interleave their header and environment lines, leaving a start with no environment.
 */
export async function environmentRecordingTool(dir: string, name: string, log: string): Promise<void> {
  await writeTool(
    dir,
    name,
    `record=$(printf '=== %s %s\\n' "${name}" "$*"; env)
printf '%s\\n' "$record" | cat >> "${log}"
exec ${realTool(name)} "$@"`,
  );
}

/** What `environmentRecordingTool`s logged: one entry per start, with its arguments and environment. */
export function recordedStarts(log: string): { tool: string; args: string; env: Record<string, string> }[] {
  return log
    .split(/^=== /m)
    .filter(Boolean)
    .map((block) => {
      const [head = '', ...lines] = block.split('\n');
      const [tool = '', ...args] = head.split(' ');
      const env: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf('=');
        if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
      }
      return { tool, args: args.join(' '), env };
    });
}
