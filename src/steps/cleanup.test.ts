import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from './cleanup.ts';
import { plan } from './plan.ts';
import { execution, stepWorld } from './testing.ts';

const at = new Date('2026-11-22T03:00:07Z');

describe('Cleanup', () => {
  it('removes the run’s staging folder and nothing beside it', async () => {
    const world = await stepWorld();
    const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
    await mkdir(planned.stagingDir, { recursive: true });
    await writeFile(path.join(planned.stagingDir, planned.fileName), 'dump');
    const neighbour = path.join(world.staging, 'keep-me');
    await writeFile(neighbour, 'x');
    await expect(cleanup({ run: { target: 'orders', plan: planned } }, world.runtime)).resolves.toEqual({
      removed: [planned.stagingDir],
      aborted: [],
      abortFailed: [],
    });
    await expect(stat(planned.stagingDir)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(neighbour)).resolves.toBeDefined();
  });

  it('refuses a folder that is not named after the run, and leaves it', async () => {
    const world = await stepWorld();
    const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
    const run = { target: 'orders', plan: { ...planned, stagingDir: world.staging } };
    await expect(cleanup({ run }, world.runtime)).rejects.toMatchObject({
      name: 'ConfigError',
      message: `refusing to remove ${world.staging}: it is not the staging folder of run ${planned.runId}`,
    });
    await expect(stat(world.staging)).resolves.toBeDefined();
  });

  it('has nothing to remove when the run never got a plan', async () => {
    const world = await stepWorld();
    await expect(cleanup({ run: { target: 'orders' } }, world.runtime)).resolves.toEqual({
      removed: [],
      aborted: [],
      abortFailed: [],
    });
  });

  it('looks for no staging folder when the dump was streamed (runner lambda), and leaves the share alone', async () => {
    const world = await stepWorld({ targetYaml: 'runner: lambda' });
    const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
    expect(planned.runner).toBe('lambda');
    // Even a folder of the run's name is not the lambda runner's: it staged nothing.
    await mkdir(planned.stagingDir, { recursive: true });
    await expect(cleanup({ run: { target: 'orders', plan: planned } }, world.runtime)).resolves.toEqual({
      removed: [],
      aborted: [],
      abortFailed: [],
    });
    await expect(stat(planned.stagingDir)).resolves.toBeDefined();
  });
});
