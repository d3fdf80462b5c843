import { describe, expect, it } from 'vitest';
import type { Logger, LogFields } from './observability/log.ts';
import { throttledProgressLog } from './runtime.ts';

function recordingLogger(lines: { message: string; fields?: LogFields }[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => void lines.push({ message, ...(fields && { fields }) }),
    warn: () => undefined,
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

describe("Lambda's progress log", () => {
  it("logs SQL Server's percent as a percent, never as bytes: 0", () => {
    const lines: { message: string; fields?: LogFields }[] = [];
    const progress = throttledProgressLog(() => recordingLogger(lines));
    progress({ state: 'Dump', percent: 40 });
    progress({ state: 'Upload', bytes: 2048 });
    expect(lines).toEqual([
      { message: 'progress', fields: { state: 'Dump', percent: 40 } },
      { message: 'progress', fields: { state: 'Upload', bytes: 2048 } },
    ]);
  });

  it('logs each destination of the Upload map on its own, named', () => {
    const lines: { message: string; fields?: LogFields }[] = [];
    const progress = throttledProgressLog(() => recordingLogger(lines));
    progress({ state: 'Upload', item: 'primary', bytes: 10, totalBytes: 40 });
    progress({ state: 'Upload', item: 'offsite', bytes: 20, totalBytes: 40 });
    expect(lines.map((l) => l.fields)).toEqual([
      { state: 'Upload', item: 'primary', bytes: 10, totalBytes: 40, percent: 25 },
      { state: 'Upload', item: 'offsite', bytes: 20, totalBytes: 40, percent: 50 },
    ]);
  });

  it('logs a state at most every 10 seconds', () => {
    const lines: { message: string; fields?: LogFields }[] = [];
    const progress = throttledProgressLog(() => recordingLogger(lines));
    progress({ state: 'Dump', percent: 5 });
    progress({ state: 'Dump', percent: 10 });
    expect(lines.map((l) => l.fields?.percent)).toEqual([5]);
  });
});
