/**
 * A SEQ log sink: log records as CLEF (compact log event format), posted in batches to
 * `<url>/ingest/clef` at the end of each step. A SEQ that is down costs a warning on stderr,
 * never the backup.
 */
import type { LogRecord, LogSink } from './log.ts';

const LEVELS = { debug: 'Debug', info: 'Information', warn: 'Warning', error: 'Error' } as const;

export function toClef(record: LogRecord): string {
  return JSON.stringify({
    '@t': record.timestamp,
    '@mt': record.message,
    '@l': LEVELS[record.level],
    Application: 'stepvault',
    ...record.fields,
  });
}

/** One batch, connection included; a SEQ that does not answer must not hold the step. */
export const SEQ_TIMEOUT_MS = 10_000;

export class SeqSink implements LogSink {
  private buffer: string[] = [];
  private readonly url: string;
  private readonly apiKey: () => Promise<string | undefined>;

  constructor(url: string, apiKey: () => Promise<string | undefined>) {
    this.url = `${url.replace(/\/+$/, '')}/ingest/clef`;
    this.apiKey = apiKey;
  }

  write(record: LogRecord): void {
    this.buffer.push(toClef(record));
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      const key = await this.apiKey();
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/vnd.serilog.clef', ...(key && { 'X-Seq-ApiKey': key }) },
        body: `${batch.join('\n')}\n`,
        signal: AbortSignal.timeout(SEQ_TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    } catch (error) {
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${SEQ_TIMEOUT_MS / 1000} s`
          : (error as Error).message;
      process.stderr.write(`stepvault: could not send ${batch.length} log events to SEQ at ${this.url}: ${reason}\n`);
    }
  }
}
