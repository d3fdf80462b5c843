import { afterEach, describe, expect, it, vi } from 'vitest';
import { plan } from './plan.ts';
import { execution, stepWorld } from './testing.ts';

afterEach(() => vi.unstubAllEnvs());

const at = new Date('2026-11-22T03:00:07Z');

describe('Plan', () => {
  it('names the run, its staging folder, its file and its key from the execution', async () => {
    const world = await stepWorld({ destinations: { mem: {}, spare: { required: false } } });
    const run = execution(at);
    const result = await plan({ request: { target: 'orders' }, execution: run }, world.runtime);
    expect(result).toMatchObject({
      target: 'orders',
      engine: 'postgres',
      database: 'orders',
      executionId: run.id,
      startedAt: at.toISOString(),
    });
    expect(result.stagingDir).toBe(`${world.staging}/${result.runId}`);
    expect(result.objectKey.endsWith(`/${result.fileName}`)).toBe(true);
    expect(result.fileName.startsWith('orders-')).toBe(true);
    expect(result.destinations).toEqual([
      { name: 'mem', type: 'memory', required: true },
      { name: 'spare', type: 'memory', required: false },
    ]);
    const again = await plan({ request: { target: 'orders' }, execution: run }, world.runtime);
    expect(again.runId).toBe(result.runId);
    const other = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
    expect(other.objectKey).not.toBe(result.objectKey);
  });

  it('fails fast with a ConfigError when the input names no target', async () => {
    const world = await stepWorld();
    await expect(plan({ request: {} as never, execution: execution(at) }, world.runtime)).rejects.toMatchObject({
      name: 'ConfigError',
      message: 'the execution input must name a target, e.g. {"target": "orders"}',
    });
  });

  it('fails fast with a ConfigError naming the known targets when the target is unknown', async () => {
    const world = await stepWorld();
    await expect(
      plan({ request: { target: 'ordres' }, execution: execution(at) }, world.runtime),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringMatching(/^unknown target "ordres" in .*; known targets: orders/),
    });
  });

  it('fails fast when the target’s password does not resolve, before anything is dumped', async () => {
    const world = await stepWorld({ targetYaml: 'password: "env:STEPVAULT_UNIT_PLAN_PASSWORD"' });
    await expect(
      plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message:
        'targets.orders.password: environment variable STEPVAULT_UNIT_PLAN_PASSWORD is not set; export it before the run (env:STEPVAULT_UNIT_PLAN_PASSWORD)',
    });
    vi.stubEnv('STEPVAULT_UNIT_PLAN_PASSWORD', 's3cret');
    await expect(
      plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime),
    ).resolves.toMatchObject({ target: 'orders' });
  });
});
