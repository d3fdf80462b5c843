/** Runs the stepvault command as a person would, and keeps what it said and how it exited. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CLI = path.join(import.meta.dirname, '../../bin/stepvault.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The environment for processes whose clocks must all read `at` when they start (see
 * slow-clock.ts): two runs started together then start in the same second, always.
 */
export function slowClockEnv(at: Date, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const preload = path.join(import.meta.dirname, 'slow-clock.ts');
  return {
    ...env,
    STEPVAULT_TEST_CLOCK: at.toISOString(),
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
  };
}
