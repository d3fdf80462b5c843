import { describe, expect, it } from 'vitest';
import { plan } from '../steps/plan.ts';
import { execution, stepWorld } from '../steps/testing.ts';
import { type InterruptContext, interruptRun } from './interrupt.ts';
import { TasksUnderWay } from './tasks-under-way.ts';

describe('an interrupted run', () => {
  it('waits for the step under way and closes the write it opened after the signal came', async () => {
    const world = await stepWorld({ destinations: { first: {} } });
    const planned = await plan({ request: { target: 'orders' }, execution: execution(world.clock.now) }, world.runtime);
    const first = await world.storage('first');
    const seen: ReturnType<InterruptContext['progress']> = { uploadStarted: false, state: 'ChooseRunner' };
    const underWay = new TasksUnderWay((state, input) => {
      if (state !== 'StreamDump') return;
      seen.uploadStarted = true;
      seen.plan = input as typeof planned;
    });
    // The signal comes as StreamDump's handler is about to start: the run looks as if nothing was written yet.
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const said: string[] = [];
    const interrupted = interruptRun('SIGINT', {
      abort: () => undefined,
      progress: () => seen,
      runtime: () => world.runtime,
      settled: async (ms) => {
        await running;
        return underWay.settled(ms);
      },
      write: async (text) => void said.push(text),
      exit: () => undefined,
    });
    // Then the step starts, writes its dump (no manifest yet) and fails as its stream is cut.
    const step = underWay.track('StreamDump', planned, async () => {
      await first.putText(planned.objectKey, 'half a dump', 'application/octet-stream');
      throw new Error('the dump tool was stopped');
    });
    started();
    await step.catch(() => undefined);
    await interrupted;

    expect(await first.head(planned.objectKey)).toBeUndefined();
    const text = said.join('');
    expect(text).toContain('Interrupted by SIGINT during ChooseRunner.');
    expect(text).toContain('the upload had started: closing what it left on the destinations');
    expect(text).toContain(`first: removed memory://first/${planned.objectKey} (no manifest: not a backup)`);
    expect(text).not.toContain('nothing was published');
  });

  it('says nothing was published when no step that writes ever started', async () => {
    const world = await stepWorld({ destinations: { first: {} } });
    const said: string[] = [];
    await interruptRun('SIGTERM', {
      abort: () => undefined,
      progress: () => ({ uploadStarted: false, state: 'Plan' }),
      runtime: () => world.runtime,
      settled: (ms) => new TasksUnderWay().settled(ms),
      write: async (text) => void said.push(text),
      exit: () => undefined,
    });
    expect(said.join('')).toBe('\nInterrupted by SIGTERM during Plan.\n  nothing was published\n');
  });
});

describe('the steps under way', () => {
  it('settle when their work does, failed or not, and give up after the budget', async () => {
    const started: string[] = [];
    const underWay = new TasksUnderWay((state) => started.push(state));
    expect(await underWay.settled(10)).toBe(true);
    const failing = underWay.track('Upload', {}, async () => {
      throw new Error('no');
    });
    await failing.catch(() => undefined);
    expect(await underWay.settled(10)).toBe(true);
    underWay.track('StreamDump', {}, () => new Promise(() => undefined));
    expect(await underWay.settled(20)).toBe(false);
    expect(started).toEqual(['Upload', 'StreamDump']);
  });
});
