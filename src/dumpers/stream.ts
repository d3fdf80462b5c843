/**
 * Runs a dump tool and streams its standard output into a sink: a file in staging, or a writer
 * that takes the bytes as a stream (a destination's putStream, for the runners that stage
 * nothing). The size and SHA-256 are computed from exactly the bytes that pass. Memory stays flat
 * whatever the dump's size: nothing is buffered beyond the streams' own high-water marks.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { pipeline as pipelineCallback, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import { DumpError } from '../errors.ts';
import type { ProgressListener } from '../observability/progress.ts';
import { CoalesceStream } from '../streams/coalesce.ts';
import { DigestStream } from '../streams/digest.ts';
import type { EncryptionFacts, EncryptionKeys } from '../encryption/age.ts';
import type { TeeStream } from '../streams/tee.ts';
import { trackTool } from '../tools/running.ts';
import type { ToolCommand } from '../tools/resolver.ts';
import type { DumpSink } from './types.ts';

export interface ToolRun {
  size: number;
  sha256: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The end of the tool's standard error (the start is kept too when it is long). */
  stderr: string;
  /** With encryption: size and sha256 are the ciphertext's; this says for whom, and the plaintext's size. */
  encryption?: EncryptionFacts;
}

export interface RunDumpToolOptions {
  tool: ToolCommand;
  args: string[];
  env: NodeJS.ProcessEnv;
  sink: DumpSink;
  /** Stages between the tool's output and the hash, e.g. a tail check and a compressor. */
  transforms?: Transform[];
  /** Readers of a copy of the dump's bytes as they pass (the archive check); see TeeStream. */
  tee?: TeeStream;
  /** Called once the tool runs: starts the tee's readers after it, so an interruption lists the tool first. */
  onStarted?(): void;
  /**
   * Judges the finished run (exit code, completion mark, archive check) and throws to refuse the
   * dump. Into a stream it runs before the object becomes visible, so a refused dump is never
   * published; into a file, once the file is whole.
   */
  check(run: ToolRun): Promise<void>;
  onProgress?: ProgressListener;
  /**
   * Encrypt with age after the transforms and the tee (the archive check reads plaintext) and
   * before the hash: what is hashed, counted and written is the ciphertext, and only that.
   */
  encryption?: EncryptionKeys;
}

export async function runDumpTool(options: RunDumpToolOptions): Promise<ToolRun> {
  // Before the tool starts: a key the library refuses is refused with nothing running. The age
  // library (a few hundred KB with its post-quantum code) is loaded only when a dump is encrypted.
  const age = options.encryption ? await import('../encryption/age.ts') : undefined;
  const encryptor = options.encryption ? await age!.encryptingStream(options.encryption) : undefined;
  const child = trackTool(
    spawn(options.tool.file, [...options.tool.prefixArgs, ...options.args], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    options.tool.name,
  );
  options.onStarted?.();
  const stderr = new BoundedText(16_384);
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.append(chunk));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const digest = new DigestStream(options.onProgress);
  const plaintext = options.encryption ? new age!.ByteCounter() : undefined;
  // The tool's small writes are gathered first: every stage after works in 1 MiB chunks.
  const stages: Transform[] = options.encryption
    ? [
        new CoalesceStream(),
        ...(options.transforms ?? []),
        ...(options.tee ? [options.tee] : []),
        plaintext!,
        encryptor as unknown as Transform,
        digest,
      ]
    : [new CoalesceStream(), ...(options.transforms ?? []), digest, ...(options.tee ? [options.tee] : [])];
  const finished = async (): Promise<ToolRun> => {
    const { code, signal } = await exited;
    const run: ToolRun = {
      size: digest.bytes,
      sha256: digest.hex(),
      exitCode: code,
      signal,
      stderr: stderr.text(),
      ...(options.encryption && {
        encryption: {
          format: 'age',
          recipients: age!.keyFingerprints(options.encryption),
          plaintextSize: plaintext!.bytes,
        },
      }),
    };
    await options.check(run);
    return run;
  };

  const sink = options.sink;
  if ('file' in sink) {
    try {
      await pipeline([child.stdout, ...stages, createWriteStream(sink.file, { mode: 0o600 })]);
    } catch (error) {
      // The file side failed (disk full, a compressor error): stop the tool, then report it.
      await stop(child, exited);
      throw stagingError(error, sink.file);
    }
    return finished();
  }

  // The stages as one readable body; its errors reach the writer, which abandons the write.
  const body = pipelineCallback([child.stdout, ...stages], () => undefined) as unknown as Readable;
  let run: ToolRun | undefined;
  try {
    await sink.stream(body, async (passed) => {
      run = await finished();
      if (passed.size !== run.size || passed.sha256 !== run.sha256)
        throw new DumpError(
          `the destination counted ${passed.size} bytes with SHA-256 ${passed.sha256}, the dump was ${run.size} bytes with ${run.sha256}; nothing was published`,
        );
    });
    // A writer that skipped the check would have published an unjudged dump: refuse to call it one.
    if (!run) throw new DumpError('the destination stored the dump without letting it be checked; it is not a backup');
    return run;
  } catch (error) {
    // The destination failed, or the check refused the dump: the tool must not go on reading the database.
    await stop(child, exited);
    throw error;
  }
}

/** Stops the tool if it still runs and waits for it to be gone. */
async function stop(
  child: { kill(signal: NodeJS.Signals): boolean; exitCode: number | null; signalCode: NodeJS.Signals | null },
  exited: Promise<unknown>,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited.catch(() => undefined);
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
