/**
 * Runs a dump tool and streams its standard output into a file, computing the size and SHA-256
 * of exactly the bytes written as they pass. Memory stays flat whatever the dump's size: nothing
 * is buffered beyond the streams' own high-water marks.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { DumpError } from '../errors.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { DigestStream } from '../streams/digest.ts';
import { trackTool } from '../tools/running.ts';
import type { ToolCommand } from '../tools/resolver.ts';

export interface StreamedDump {
  size: number;
  sha256: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The end of the tool's standard error (the start is kept too when it is long). */
  stderr: string;
}

export interface StreamDumpOptions {
  tool: ToolCommand;
  args: string[];
  env: NodeJS.ProcessEnv;
  file: string;
  /** Stages between the tool's output and the hash, e.g. a tail check and a compressor. */
  transforms?: Transform[];
  onProgress?: ProgressListener;
}

export async function streamDumpToFile(options: StreamDumpOptions): Promise<StreamedDump> {
  const child = trackTool(
    spawn(options.tool.file, [...options.tool.prefixArgs, ...options.args], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    options.tool.name,
  );
  const stderr = new BoundedText(16_384);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.append(chunk));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const digest = new DigestStream(options.onProgress);
  try {
    const stages: NodeJS.ReadWriteStream[] = [...(options.transforms ?? []), digest];
    await pipeline([child.stdout, ...stages, createWriteStream(options.file, { mode: 0o600 })]);
  } catch (error) {
    // The file side failed (disk full, a compressor error): stop the tool, then report it.
    child.kill('SIGTERM');
    await exited.catch(() => undefined);
    throw stagingError(error, options.file);
  }
  const { code, signal } = await exited;
  return { size: digest.bytes, sha256: digest.hex(), exitCode: code, signal, stderr: stderr.text() };
}

/**
 * A write that failed for lack of room is the staging area's fault, not the database's: it gets
 * a name the state machine knows (not retried: the disk will not empty itself) and says so.
 */
export function stagingError(error: unknown, file: string): unknown {
  const code = (error as { code?: string } | null)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return error;
  return new DumpError(
    `staging is full: no space left in ${path.dirname(path.dirname(file))} while writing the dump (${code}); give the staging area more room or point staging elsewhere; nothing was published`,
    { cause: error },
  );
}

/** Text kept to a bound: the beginning, and the most recent end. */
class BoundedText {
  private start = '';
  private end = '';
  private dropped = false;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  append(chunk: string): void {
    if (this.start.length < this.limit / 2) {
      const room = this.limit / 2 - this.start.length;
      this.start += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (!chunk) return;
    this.end += chunk;
    if (this.end.length > this.limit / 2) {
      this.end = this.end.slice(-this.limit / 2);
      this.dropped = true;
    }
  }

  text(): string {
    return this.dropped ? `${this.start}\n…\n${this.end}` : this.start + this.end;
  }
}
