/**
 * What `stepvault run` shows while it works: each state as it is entered and left with its
 * duration, retries and caught errors, and on a terminal the dump's bytes and rate in place.
 * Off a terminal (CI, cron, a service's log) a heartbeat line every so often says the run is
 * alive and how far the current state got, even when no byte has moved; with --verbose the same
 * heartbeat also goes out as a JSON progress line.
 */
import type { RunState } from '../contracts.ts';
import { formatSeconds } from '../text/format.ts';
import { readableCause } from '../text/cause.ts';
import { describeProgress, progressFields, type ProgressEvent } from '../observability/progress.ts';
import type { WorkflowEvent } from './runner.ts';

/**
 * Seconds between heartbeats unless STEPVAULT_HEARTBEAT_SECONDS says otherwise: a line a minute is read, not scrolled
 * past.
 */
export const DEFAULT_HEARTBEAT_SECONDS = 60;

export interface ReporterOptions {
  /** Milliseconds between heartbeat lines while a state runs. */
  heartbeatMs?: number;
  /** Where JSON progress lines go (the --verbose log stream); none without it. */
  json?: (line: string) => void;
}

/** The heartbeat period from $STEPVAULT_HEARTBEAT_SECONDS (a positive number), else the default. */
export function heartbeatMsFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.STEPVAULT_HEARTBEAT_SECONDS);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_HEARTBEAT_SECONDS) * 1000;
}

export class ConsoleReporter {
  private progressShown = false;
  /** The last progress of each running state, per item (the Upload map's destinations; '' for none). */
  private readonly latest = new Map<string, Map<string, ProgressEvent>>();
  private heartbeat: { state: string; timer: NodeJS.Timeout } | undefined;
  private readonly heartbeatMs: number;
  private readonly json: ((line: string) => void) | undefined;
  private readonly started = new Map<string, number>();
  private readonly lastError = new Map<string, string>();
  private readonly caught = new Set<string>();
  private readonly items = new Map<number, string>();
  private readonly out: { write(text: string): boolean; isTTY?: boolean };

  constructor(out: { write(text: string): boolean; isTTY?: boolean }, options: ReporterOptions = {}) {
    this.out = out;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_SECONDS * 1000;
    this.json = options.json;
  }

  /** Stops the heartbeat; call when the run is over. */
  close(): void {
    this.stopHeartbeat();
  }

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  onEvent = (event: WorkflowEvent): void => {
    this.clearProgress();
    // States inside a Map iteration are indented and named after the item (the destination).
    const id = event.index === undefined ? event.state : `${event.index}/${event.state}`;
    if (event.type === 'state-entered' && event.index !== undefined)
      this.items.set(event.index, itemLabel(event.input));
    const label =
      event.index === undefined
        ? event.state
        : `  ${event.state} (${this.items.get(event.index) ?? `#${event.index}`})`;
    switch (event.type) {
      case 'state-entered':
        this.started.set(event.state, Date.now());
        this.latest.delete(event.state);
        this.lastError.delete(id);
        this.line(`→ ${label}`);
        if (event.index === undefined) this.startHeartbeat(event.state);
        break;
      case 'state-exited': {
        if (event.index === undefined && this.heartbeat?.state === event.state) this.stopHeartbeat();
        const caught = this.caught.delete(id);
        this.line(
          `${caught ? '✗' : '✓'} ${label.padEnd(22)} ${formatSeconds(event.durationMs / 1000)}${caught ? '  (failed: taking the failure branch)' : ''}`,
        );
        if (event.state === 'Plan' && !caught) for (const text of runnerLines(event.output)) this.line(text);
        for (const text of openWritesLines(event.output)) this.line(text);
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
    const items = this.latest.get(event.state) ?? new Map();
    this.latest.set(event.state, items);
    items.set(event.item ?? '', event);
    if (this.tty) {
      this.out.write(`\r\x1b[K  ${labelOf(event)}: ${describeProgress(event, this.secondsIn(event.state))}`);
      this.progressShown = true;
    }
  };

  private startHeartbeat(state: string): void {
    this.stopHeartbeat();
    const timer = setInterval(() => this.beat(state), this.heartbeatMs);
    // A heartbeat never keeps the process alive on its own.
    timer.unref();
    this.heartbeat = { state, timer };
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat.timer);
    this.heartbeat = undefined;
  }

  private beat(state: string): void {
    const seconds = this.secondsIn(state);
    const reported = [...(this.latest.get(state)?.values() ?? [])];
    // One line per item, so two destinations uploading side by side are told apart.
    for (const progress of reported.length > 0 ? reported : [{ state }]) {
      // On a terminal the line in place already says it.
      if (!this.tty)
        this.line(`  ${labelOf(progress)}: ${describeProgress(progress, seconds)} (running ${formatSeconds(seconds)})`);
      this.json?.(
        JSON.stringify({
          timestamp: new Date().toISOString(),
          level: 'info',
          message: 'progress',
          service: 'stepvault',
          state,
          ...(progress.item !== undefined && { item: progress.item }),
          seconds: Math.round(seconds),
          // Only what the state's producer said: a percent-only state has no bytes to report.
          ...progressFields(progress, seconds),
        }),
      );
    }
  }

  private secondsIn(state: string): number {
    const start = this.started.get(state);
    return start === undefined ? 0 : (Date.now() - start) / 1000;
  }

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
export function notificationLines(run: Pick<RunState, 'notification' | 'notificationError'>): string[] {
  const lines = (run.notification?.sent ?? []).map((s) => `  notified ${s.notifier}: ${s.id}`);
  lines.push(
    ...(run.notification?.failed ?? []).map((f) => `  notification ${f.notifier} FAILED: ${readableCause(f.error)}`),
  );
  const whole = run.notificationError;
  if (whole) lines.push(`  notifications FAILED: ${whole.Error ?? 'Error'}: ${readableCause(whole.Cause ?? '')}`);
  return lines;
}

/** A state, with the item its progress is about: `Upload (primary)`. */
function labelOf(event: ProgressEvent): string {
  return event.item === undefined ? event.state : `${event.state} (${event.item})`;
}

/** What a Map iteration works on, for the console: a destination's name. */
function itemLabel(input: unknown): string {
  const name = (input as { destination?: { name?: unknown } } | null)?.destination?.name;
  return typeof name === 'string' ? name : '';
}

/** What Cleanup closed on the destinations, and what it could not (those parts stay, and are billed). */
/** Where the dump runs and why, as Plan decided it. */
function runnerLines(output: unknown): string[] {
  const plan = (output as Pick<RunState, 'plan'> | undefined)?.plan;
  return plan?.runner ? [`  runner ${plan.runner}: ${plan.runnerReason}`] : [];
}

function openWritesLines(output: unknown): string[] {
  const cleanup = (output as Pick<RunState, 'cleanup'> | undefined)?.cleanup;
  if (!cleanup?.aborted || !cleanup.abortFailed) return [];
  return [
    ...cleanup.aborted.map(
      (a) =>
        `  ${a.destination}: aborted ${a.count} open upload${a.count > 1 ? 's' : ''} of ${a.key} left by a failed attempt`,
    ),
    ...cleanup.abortFailed.map(
      (f) =>
        `  ${f.destination}: could not abort open uploads of ${f.key}, their parts may stay until a lifecycle rule removes them (${f.error})`,
    ),
  ];
}
