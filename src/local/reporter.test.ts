import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ConsoleReporter, DEFAULT_HEARTBEAT_SECONDS, heartbeatMsFromEnvironment } from './reporter.ts';

function sink(isTTY: boolean) {
  const written: string[] = [];
  return { written, out: { isTTY, write: (text: string) => written.push(text) > 0 } };
}

const entered = (state: string) => ({ type: 'state-entered' as const, state, at: Date.now(), input: {} });
const exited = (state: string) => ({ type: 'state-exited' as const, state, at: Date.now(), durationMs: 1, output: {} });

describe('heartbeat', () => {
  it('off a terminal, prints the state, bytes and rate every period, and stops when the state ends', async () => {
    const { written, out } = sink(false);
    const json: string[] = [];
    const reporter = new ConsoleReporter(out, { heartbeatMs: 40, json: (line) => json.push(line) });
    reporter.onEvent(entered('Dump'));
    reporter.onProgress({ state: 'Dump', bytes: 5 * 1024 * 1024 });
    await sleep(130);
    reporter.onEvent(exited('Dump'));
    const beats = written.filter((w) => w.startsWith('  Dump: '));
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]).toMatch(/^ {2}Dump: 5\.0 MB written, [\d.]+ [KMG]?B\/s \(running 0\.\d\ds\)\n$/);
    const line = JSON.parse(json[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', message: 'progress', state: 'Dump', bytes: 5 * 1024 * 1024 });
    expect(line.bytesPerSecond).toBeGreaterThan(0);
    const count = written.length;
    await sleep(120);
    expect(written.length).toBe(count);
    reporter.close();
  });

  it('beats while nothing moves, so a stalled dump is visible in a log', async () => {
    const { written, out } = sink(false);
    const reporter = new ConsoleReporter(out, { heartbeatMs: 30 });
    reporter.onEvent(entered('Dump'));
    await sleep(80);
    reporter.close();
    expect(written.some((w) => /^ {2}Dump: no progress reported yet \(running/.test(w))).toBe(true);
  });

  it('on a terminal, leaves the in-place line alone and still gives --verbose its JSON', async () => {
    const { written, out } = sink(true);
    const json: string[] = [];
    const reporter = new ConsoleReporter(out, { heartbeatMs: 30, json: (line) => json.push(line) });
    reporter.onEvent(entered('Dump'));
    await sleep(80);
    reporter.close();
    expect(written.filter((w) => w.includes('running'))).toEqual([]);
    expect(json.length).toBeGreaterThan(0);
  });

  it("carries SQL Server's percent to the heartbeat line and the JSON line, with no bytes invented", async () => {
    const { written, out } = sink(false);
    const json: string[] = [];
    const reporter = new ConsoleReporter(out, { heartbeatMs: 30, json: (line) => json.push(line) });
    reporter.onEvent(entered('Dump'));
    reporter.onProgress({ state: 'Dump', percent: 40 });
    await sleep(80);
    reporter.close();
    expect(written.find((w) => w.startsWith('  Dump: '))).toMatch(/^ {2}Dump: 40% done \(running 0\.\d\ds\)\n$/);
    const line = JSON.parse(json[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ message: 'progress', state: 'Dump', percent: 40 });
    expect(line).not.toHaveProperty('bytes');
    expect(line).not.toHaveProperty('bytesPerSecond');
  });

  it('gives bytes of a known total with their share, in the heartbeat and the JSON line', async () => {
    const { written, out } = sink(false);
    const json: string[] = [];
    const reporter = new ConsoleReporter(out, { heartbeatMs: 30, json: (line) => json.push(line) });
    reporter.onEvent(entered('Restore'));
    reporter.onProgress({ state: 'Restore', bytes: 3 * 1024 * 1024, totalBytes: 12 * 1024 * 1024 });
    await sleep(80);
    reporter.close();
    expect(written.find((w) => w.startsWith('  Restore: '))).toMatch(
      /^ {2}Restore: 3\.0 MB of 12\.0 MB \(25%\), [\d.]+ [KMG]?B\/s \(running/,
    );
    expect(JSON.parse(json[0]!)).toMatchObject({ bytes: 3 * 1024 * 1024, totalBytes: 12 * 1024 * 1024, percent: 25 });
  });

  it('gives each destination of the Upload map its own heartbeat and JSON line', async () => {
    const { written, out } = sink(false);
    const json: string[] = [];
    const reporter = new ConsoleReporter(out, { heartbeatMs: 30, json: (line) => json.push(line) });
    reporter.onEvent(entered('Upload'));
    reporter.onProgress({ state: 'Upload', item: 'primary', bytes: 1024, totalBytes: 4096 });
    reporter.onProgress({ state: 'Upload', item: 'offsite', bytes: 2048, totalBytes: 4096 });
    await sleep(50);
    reporter.close();
    expect(written.find((w) => w.startsWith('  Upload (primary): '))).toMatch(
      /^ {2}Upload \(primary\): 1\.0 KB of 4\.0 KB \(25%\)/,
    );
    expect(written.find((w) => w.startsWith('  Upload (offsite): '))).toMatch(
      /^ {2}Upload \(offsite\): 2\.0 KB of 4\.0 KB \(50%\)/,
    );
    const lines = json.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ state: 'Upload', item: 'primary', bytes: 1024, totalBytes: 4096, percent: 25 }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ state: 'Upload', item: 'offsite', bytes: 2048, totalBytes: 4096, percent: 50 }),
    );
  });

  it('takes its period from STEPVAULT_HEARTBEAT_SECONDS, else a minute', () => {
    expect(heartbeatMsFromEnvironment({ STEPVAULT_HEARTBEAT_SECONDS: '0.5' })).toBe(500);
    expect(heartbeatMsFromEnvironment({ STEPVAULT_HEARTBEAT_SECONDS: 'often' })).toBe(DEFAULT_HEARTBEAT_SECONDS * 1000);
    expect(heartbeatMsFromEnvironment({})).toBe(60_000);
  });
});

describe('the line in place on a terminal', () => {
  function shown(event: Parameters<ConsoleReporter['onProgress']>[0]): string {
    const { written, out } = sink(true);
    const reporter = new ConsoleReporter(out, { heartbeatMs: 60_000 });
    reporter.onEvent(entered(event.state));
    reporter.onProgress(event);
    reporter.close();
    return written.at(-1)!;
  }

  it("shows SQL Server's percent as a percent, without a byte count", () => {
    expect(shown({ state: 'Dump', percent: 40 })).toBe('\r\x1b[K  Dump: 40% done');
  });

  it('shows bytes written', () => {
    expect(shown({ state: 'Dump', bytes: 2048 })).toMatch(/^\r\x1b\[K {2}Dump: 2\.0 KB written(, [\d.]+ [KMG]?B\/s)?$/);
  });

  it('shows bytes of a known total with their share', () => {
    expect(shown({ state: 'Restore', bytes: 512, totalBytes: 2048 })).toMatch(
      /^\r\x1b\[K {2}Restore: 512 B of 2\.0 KB \(25%\)/,
    );
  });

  it('shows nothing in place off a terminal', () => {
    const { written, out } = sink(false);
    const reporter = new ConsoleReporter(out, { heartbeatMs: 60_000 });
    reporter.onProgress({ state: 'Dump', percent: 40 });
    reporter.close();
    expect(written).toEqual([]);
  });
});

describe('Cleanup', () => {
  it('says which open uploads of the run it aborted, and which it could not', () => {
    const { written, out } = sink(false);
    const reporter = new ConsoleReporter(out);
    reporter.onEvent(entered('CleanupAfterFailure'));
    reporter.onEvent({
      ...exited('CleanupAfterFailure'),
      output: {
        cleanup: {
          removed: ['/staging/run'],
          aborted: [{ destination: 'primary', key: 'db/main/x.dump', count: 1 }],
          abortFailed: [
            { destination: 'offsite', key: 'off/main/x.dump', error: 'StorageError: connect ECONNREFUSED' },
          ],
        },
      },
    });
    reporter.close();
    expect(written.slice(-2)).toEqual([
      '  primary: aborted 1 open upload of db/main/x.dump left by a failed attempt\n',
      '  offsite: could not abort open uploads of off/main/x.dump, their parts may stay until a lifecycle rule removes them (StorageError: connect ECONNREFUSED)\n',
    ]);
  });

  it('says nothing more when nothing was left open', () => {
    const { written, out } = sink(false);
    const reporter = new ConsoleReporter(out);
    reporter.onEvent(entered('Cleanup'));
    reporter.onEvent({
      ...exited('Cleanup'),
      output: { cleanup: { removed: ['/staging/run'], aborted: [], abortFailed: [] } },
    });
    reporter.close();
    expect(written.filter((w) => w.startsWith('  '))).toEqual([]);
  });
});
