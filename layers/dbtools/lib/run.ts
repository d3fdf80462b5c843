import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command with an argument array; the error carries its output. */
export async function run(file: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<RunResult> {
  try {
    return await execFileAsync(file, args, {
      maxBuffer: 256 * 1024 * 1024,
      env: env ?? process.env,
      ...(cwd && { cwd }),
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const detail = (e.stderr || e.stdout || e.message).trim().split('\n').slice(-6).join('\n');
    throw Object.assign(new Error(`${file} ${args.slice(0, 3).join(' ')} failed:\n${detail}`), {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    });
  }
}
