/**
 * What `stepvault run` shows while it works: each state as it is entered and left with its
 * duration, retries and caught errors, and on a terminal the dump's bytes and rate in place.
 */
import { formatBytes, formatSeconds } from '../format.ts';
import { readableCause } from '../notifiers/message.ts';
import type { ProgressEvent } from '../runtime.ts';
import type { WorkflowEvent } from './runner.ts';

export class ConsoleReporter {
  private progressShown = false;
  private readonly started = new Map<string, { at: number; bytes: number }>();
  private readonly lastError = new Map<string, string>();
  private readonly caught = new Set<string>();
  private readonly out: { write(text: string): boolean; isTTY?: boolean };

  constructor(out: { write(text: string): boolean; isTTY?: boolean }) {
    this.out = out;
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  onEvent = (event: WorkflowEvent): void => {
    this.clearProgress();
    switch (event.type) {
      case 'state-entered':
        this.started.set(event.state, { at: Date.now(), bytes: 0 });
        this.lastError.delete(event.state);
        this.line(`→ ${event.state}`);
        break;
      case 'state-exited': {
        const caught = this.caught.delete(event.state);
        this.line(`${caught ? '✗' : '✓'} ${event.state.padEnd(22)} ${formatSeconds(event.durationMs / 1000)}${caught ? '  (failed: taking the failure branch)' : ''}`);
        break;
      }
      case 'state-failed': {
        // The Fail state repeats the original error, which the summary line prints anyway.
        if (event.stateType === 'Fail') break;
        const text = `${event.error}: ${readableCause(event.cause)}`;
        if (this.lastError.get(event.state) !== text) this.line(`  ${event.state} failed: ${text}`);
        this.lastError.set(event.state, text);
        break;
      }
      case 'state-retried':
        this.line(`  ↻ ${event.state}: retry ${event.attempt}`);
        break;
      case 'state-caught':
        this.caught.add(event.state);
        break;
    }
  };

  onProgress = (event: ProgressEvent): void => {
    const start = this.started.get(event.state);
    const seconds = start ? (Date.now() - start.at) / 1000 : 0;
    const rate = seconds > 0 ? `${formatBytes(event.bytes / seconds)}/s` : '';
    const text = `  ${event.state}: ${formatBytes(event.bytes)} written ${rate}`;
    if (this.tty) {
      this.out.write(`\r\x1b[K${text}`);
      this.progressShown = true;
    } else if (start && event.bytes - start.bytes >= 256 * 1024 * 1024) {
      // Without a terminal, a line per 256 MB keeps a CI log readable.
      start.bytes = event.bytes;
      this.line(text);
    }
  };

  line(text: string): void {
    this.clearProgress();
    this.out.write(`${text}\n`);
  }

  private clearProgress(): void {
    if (this.progressShown) {
      this.out.write('\r\x1b[K');
      this.progressShown = false;
    }
  }
}
