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
  private readonly items = new Map<number, string>();
  private readonly out: { write(text: string): boolean; isTTY?: boolean };

  constructor(out: { write(text: string): boolean; isTTY?: boolean }) {
    this.out = out;
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  onEvent = (event: WorkflowEvent): void => {
    this.clearProgress();
    // States inside a Map iteration are indented and named after the item (the destination).
    const id = event.index === undefined ? event.state : `${event.index}/${event.state}`;
    if (event.type === 'state-entered' && event.index !== undefined) this.items.set(event.index, itemLabel(event.input));
    const label = event.index === undefined ? event.state : `  ${event.state} (${this.items.get(event.index) ?? `#${event.index}`})`;
    switch (event.type) {
      case 'state-entered':
        this.started.set(event.state, { at: Date.now(), bytes: 0 });
        this.lastError.delete(id);
        this.line(`→ ${label}`);
        break;
      case 'state-exited': {
        const caught = this.caught.delete(id);
        this.line(`${caught ? '✗' : '✓'} ${label.padEnd(22)} ${formatSeconds(event.durationMs / 1000)}${caught ? '  (failed: taking the failure branch)' : ''}`);
        break;
      }
      case 'state-failed': {
        // The Fail state repeats the original error, which the summary line prints anyway.
        if (event.stateType === 'Fail') break;
        const text = `${event.error}: ${readableCause(event.cause)}`;
        if (this.lastError.get(id) !== text) this.line(`  ${label.trim()} failed: ${text}`);
        this.lastError.set(id, text);
        break;
      }
      case 'state-retried':
        this.line(`  ↻ ${label.trim()}: retry ${event.attempt}`);
        break;
      case 'state-caught':
        this.caught.add(id);
        break;
    }
  };

  onProgress = (event: ProgressEvent): void => {
    const start = this.started.get(event.state);
    const seconds = start ? (Date.now() - start.at) / 1000 : 0;
    const rate = seconds > 0 ? `${formatBytes(event.bytes / seconds)}/s` : '';
    const text = event.percent !== undefined ? `  ${event.state}: ${event.percent}% done (SQL Server)` : `  ${event.state}: ${formatBytes(event.bytes)} written ${rate}`;
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

/**
 * What the run's Notify state did, for the summary: each mail sent, each that failed, and a Notify
 * state that failed as a whole (timed out). A failed notification does not fail a good backup, so
 * these lines are the only place a person running it learns of one.
 */
export function notificationLines(run: unknown): string[] {
  const state = run as {
    notification?: { sent?: { notifier: string; id: string }[]; failed?: { notifier: string; error: string }[] };
    notificationError?: { Error?: string; Cause?: string };
  };
  const lines = (state.notification?.sent ?? []).map((s) => `  notified ${s.notifier}: ${s.id}`);
  lines.push(...(state.notification?.failed ?? []).map((f) => `  notification ${f.notifier} FAILED: ${readableCause(f.error)}`));
  const whole = state.notificationError;
  if (whole) lines.push(`  notifications FAILED: ${whole.Error ?? 'Error'}: ${readableCause(whole.Cause ?? '')}`);
  return lines;
}

/** What a Map iteration works on, for the console: a destination's name. */
function itemLabel(input: unknown): string {
  const name = (input as { destination?: { name?: unknown } } | null)?.destination?.name;
  return typeof name === 'string' ? name : '';
}
