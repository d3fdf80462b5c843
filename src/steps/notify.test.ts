import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { notify } from './notify.ts';
import { execution, storedRun, stepWorld } from './testing.ts';

const at = new Date('2026-11-22T03:00:07Z');

describe('Notify', () => {
  it('sends the outcome’s metrics, then tells the target’s notifiers', async () => {
    const world = await stepWorld({
      notifications: '{ desk: { type: outbox, path: ./outbox } }',
      targetYaml: 'notify: [desk]',
    });
    const run = await storedRun(world, at);
    world.clock.now = new Date(at.getTime() + 90_000);
    const result = await notify(
      { outcome: 'success', run: { target: 'orders', ...run }, execution: execution(at, run.plan.executionId) },
      world.runtime,
    );
    expect(result.failed).toEqual([]);
    expect(result.sent).toEqual([{ notifier: 'desk', id: expect.any(String) }]);
    const mails = await readdir(path.join(world.staging, 'outbox'));
    expect(mails).toHaveLength(1);
    expect(await readFile(path.join(world.staging, 'outbox', mails[0]!), 'utf8')).toContain('orders');
    expect(world.metrics).toEqual([
      expect.objectContaining({ target: 'orders', BackupSucceeded: 1, DurationSeconds: 90, SizeBytes: run.dump.size }),
    ]);
  });

  it('reports a notifier that fails in its result, never by throwing, and still counts the backup', async () => {
    const world = await stepWorld({
      notifications: '{ desk: { type: outbox, path: ./not-a-folder/outbox } }',
      targetYaml: 'notify: [desk]',
    });
    await writeFile(path.join(world.staging, 'not-a-folder'), 'x');
    const run = await storedRun(world, at);
    const result = await notify(
      { outcome: 'success', run: { target: 'orders', ...run }, execution: execution(at, run.plan.executionId) },
      world.runtime,
    );
    expect(result.sent).toEqual([]);
    expect(result.failed).toEqual([{ notifier: 'desk', error: expect.stringMatching(/^\w+: /) }]);
    await world.runtime.flush(); // as the handler does at the end of every step
    expect(world.metrics).toContainEqual(expect.objectContaining({ BackupSucceeded: 1 }));
    expect(world.metrics).toContainEqual(expect.objectContaining({ NotificationFailed: 1 }));
  });

  it('counts a failed run as BackupFailed and mails it, even when Plan never named the run', async () => {
    const world = await stepWorld({
      notifications: '{ desk: { type: outbox, path: ./outbox, on: [failure] } }',
      targetYaml: 'notify: [desk]',
    });
    const failure = { state: 'Plan', error: 'ConfigError', cause: '{"errorType":"ConfigError","errorMessage":"bad"}' };
    const result = await notify(
      { outcome: 'failure', run: { target: 'orders', failure }, execution: execution(at) },
      world.runtime,
    );
    expect(result.sent).toHaveLength(1);
    expect(world.metrics).toEqual([expect.objectContaining({ target: 'orders', BackupFailed: 1 })]);
  });
});
