/**
 * Runs one command of the benchmark and measures it: wall time, and for a Node process its peak
 * resident set. The peak is the kernel's own high-water mark of that one process (VmHWM in
 * /proc/<pid>/status), read every 50 ms while it runs: the tools it spawns (pg_dump, pg_restore)
 * and the S3 server (its own process) are not counted, and only growth in its last 50 ms could be
 * missed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Measured {
  seconds: number;
  /** Peak resident set of the process started, in bytes (0 when not sampled). */
  peakRss: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface MeasureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Sample the process's peak resident set (for the Node process only). */
  sampleRss?: boolean;
  /** A file to write the standard output into (a dump), instead of keeping it. */
  stdoutFd?: number;
}

export async function measure(file: string, args: string[], options: MeasureOptions = {}): Promise<Measured> {
  const started = process.hrtime.bigint();
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', options.stdoutFd ?? 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-16_384)));
  let peakKb = 0;
  const sample = () => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
    } catch {
      // Gone already: its last sample stands.
    }
  };
  const sampler = options.sampleRss ? setInterval(sample, 50) : undefined;
  // One last sample as it exits, while its status may still be read; 'close' waits for its output too.
  child.once('exit', () => sampler && sample());
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (sampler) clearInterval(sampler);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRss: peakKb * 1024, stdout, stderr, code };
}

/** Runs a shell-free pipeline `producer | consumer > outFile`, for a raw tool whose output a compressor takes. */
export async function measurePipe(
  producer: [string, string[]],
  consumer: [string, string[]],
  outFd: number,
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number }> {
  const started = process.hrtime.bigint();
  const first = spawn(producer[0], producer[1], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const second = spawn(consumer[0], consumer[1], { env, stdio: [first.stdout, outFd, 'pipe'] });
  let stderr = '';
  first.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  second.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  // The producer's output belongs to the consumer: this process lets go of its own end, or the
  // producer's 'close' would wait for a stream nobody reads.
  first.stdout.destroy();
  const exit = (child: ChildProcess) =>
    new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
  const [a, b] = await Promise.all([exit(first), exit(second)]);
  if (a !== 0 || b !== 0)
    throw new Error(`${producer[0]} | ${consumer[0]} failed (${a}, ${b}): ${stderr.slice(-2000)}`);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
