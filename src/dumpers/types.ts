import type { Target } from '../config/load.ts';
import type { DumpResult } from '../contracts.ts';
import type { ProgressListener } from '../observability/progress.ts';

export interface DumpRequest {
  target: Target;
  /** The resolved password, if the target has one; it goes to the tool by env or a 0600 file. */
  password?: string;
  /** Where the dump goes; the folder exists and is private to the run. */
  file: string;
  onProgress?: ProgressListener;
}

/** What a dumper learns about its dump; the Dump step adds where and when. */
export type DumpOutput = Pick<DumpResult, 'size' | 'sha256' | 'compression' | 'tool' | 'serverVersion' | 'rowCounts'>;

/**
 * One database engine. A dumper knows its tool's command line (built by pure functions, unit
 * tested) and how to tell a complete dump from a broken one; running it is shared.
 */
export interface Dumper {
  /** The file extension of the dump, with the leading dot. */
  extension(target: Target): string;
  dump(request: DumpRequest): Promise<DumpOutput>;
}
