/** The raw tools of the benchmark, run as a person would from a shell, timed the same way as stepvault. */
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ToolCommand } from '../../src/tools/resolver.ts';
import { measure, measurePipe } from './measure.ts';
import type { RawCommand } from './settings.ts';

export interface RawRun {
  seconds: number;
  size: number;
}

/** Runs `command` writing into `output` (a file, or a folder for a directory-format dump). */
export async function runRaw(
  tool: ToolCommand,
  command: RawCommand,
  output: string,
  env: NodeJS.ProcessEnv,
): Promise<RawRun> {
  const argv = [...tool.prefixArgs, ...command.args];
  if (command.compressor || (!command.directory && !command.args.some((a) => a.startsWith('--file=')))) {
    const fd = openSync(output, 'w', 0o600);
    try {
      if (command.compressor) {
        const run = await measurePipe([tool.file, argv], command.compressor, fd, env);
        return { seconds: run.seconds, size: statSync(output).size };
      }
      const run = await measure(tool.file, argv, { env, stdoutFd: fd });
      if (run.code !== 0) throw new Error(`${tool.name} failed (${run.code}): ${run.stderr}`);
      return { seconds: run.seconds, size: statSync(output).size };
    } finally {
      closeSync(fd);
    }
  }
  const run = await measure(tool.file, argv, { env });
  if (run.code !== 0) throw new Error(`${tool.name} failed (${run.code}): ${run.stderr}`);
  return { seconds: run.seconds, size: sizeOf(output) };
}

function sizeOf(file: string): number {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(file).reduce((sum, name) => sum + sizeOf(path.join(file, name)), 0);
}
