/**
 * The data pass of a PostgreSQL archive check: `pg_restore --data-only` reads every data block of
 * the archive to its end, which proves it whole. Its output (the whole database as COPY text) is
 * read only when the rows are to be counted; otherwise pg_restore writes it to the null device and
 * none of it crosses a pipe into Node.
 */
import { devNull } from 'node:os';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyRowCounter, type RowCounts } from './row-counts.ts';

export interface PgDataPass {
  /** pg_restore's arguments, besides where it reads the archive from. */
  args: string[];
  /** Reads what pg_restore writes (its stdout); call once it has started. */
  attach(stdout: Readable): void;
  /** The rows per table once pg_restore has ended, or undefined when they were not counted. */
  counts(): Promise<RowCounts | undefined>;
}

export function pgDataPass(countRows: boolean): PgDataPass {
  if (!countRows)
    return {
      args: ['--data-only', `--file=${devNull}`],
      attach: (stdout) => void stdout.resume(),
      counts: async () => undefined,
    };
  const counter = new CopyRowCounter();
  let counted: Promise<void> = Promise.resolve();
  return {
    args: ['--data-only', '--file=-'],
    attach(stdout) {
      counted = pipeline(stdout, counter, new Writable({ write: (_chunk, _encoding, done) => done() }));
      counted.catch(() => undefined);
    },
    async counts() {
      await counted.catch(() => undefined);
      return counter.counts;
    },
  };
}
