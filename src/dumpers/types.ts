import type { Target } from '../config/load.ts';
import type { ToolInfo } from '../contracts.ts';
import type { ProgressListener } from './stream.ts';

export interface DumpRequest {
  target: Target;
  /** The resolved password, if the target has one; it goes to the tool by env or a 0600 file. */
  password?: string;
  /** Where the dump goes; the folder exists and is private to the run. */
  file: string;
  onProgress?: ProgressListener;
}

export interface DumpOutput {
  size: number;
  sha256: string;
  compression: string;
  tool: ToolInfo;
  serverVersion: string;
  /** Rows per table, counted from the dump (absent for very many tables). */
  rowCounts?: Record<string, number>;
}

/**
 * One database engine. A dumper knows its tool's command line (built by pure functions, unit
 * tested) and how to tell a complete dump from a broken one; running it is shared.
 */
export interface Dumper {
  /** The file extension of the dump, with the leading dot. */
  extension(target: Target): string;
  dump(request: DumpRequest): Promise<DumpOutput>;
}
