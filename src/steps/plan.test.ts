import { afterEach, describe, expect, it, vi } from 'vitest';
import { plan } from './plan.ts';
import { execution, stagedDump, stepWorld, type StepWorld } from './testing.ts';
import { upload } from './upload.ts';

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

  describe('the runner', () => {
    const day = 24 * 3600_000;

    /** A stored backup of a run started at `started` whose dump took `seconds`. */
    async function backupThatTook(world: StepWorld, started: Date, seconds: number): Promise<void> {
      world.clock.now = started;
      const planned = await plan({ request: { target: 'orders' }, execution: execution(started) }, world.runtime);
      const dump = { ...(await stagedDump(planned)), durationSeconds: seconds };
      await upload({ plan: planned, dump, destination: planned.destinations[0]! }, world.runtime);
    }

    async function planAt(world: StepWorld, when: Date) {
      world.clock.now = when;
      return plan({ request: { target: 'orders' }, execution: execution(when) }, world.runtime);
    }

    it('is the default rule’s, with its reason, when the config names none', async () => {
      const world = await stepWorld();
      await expect(planAt(world, at)).resolves.toMatchObject({
        runner: 'efs',
        runnerReason: 'host db.internal is a private name, reached only from inside its network',
      });
    });

    it('is the target’s own when it names one', async () => {
      const world = await stepWorld({ targetYaml: 'runner: lambda' });
      await expect(planAt(world, at)).resolves.toMatchObject({
        runner: 'lambda',
        runnerReason: 'targets.orders.runner is lambda',
      });
    });

    it('auto: moves to fargate when the last dump took more than the share of the Lambda time limit', async () => {
      const world = await stepWorld({ targetYaml: 'runner: auto' });
      await expect(planAt(world, at)).resolves.toMatchObject({
        runner: 'efs',
        runnerReason:
          'runner auto: no earlier backup in mem to go by, so efs: host db.internal is a private name, reached only from inside its network',
      });
      await backupThatTook(world, new Date(at.getTime() - 2 * day), 30);
      await backupThatTook(world, new Date(at.getTime() - day), 620);
      const moved = await planAt(world, at);
      expect(moved.runner).toBe('fargate');
      expect(moved.runnerReason).toMatch(
        /^runner auto: the last dump \(orders-20261121T030007Z-[0-9a-f]{8}\) took 10m20s, more than 0\.5 of the dump Lambda's 15m00s \(7m30s\)$/,
      );
      // The newest backup decides: a short dump after the long one moves the target back.
      await backupThatTook(world, new Date(at.getTime() + day), 12);
      const back = await planAt(world, new Date(at.getTime() + 2 * day));
      expect(back.runner).toBe('efs');
      expect(back.runnerReason).toMatch(
        /^runner auto: the last dump \(orders-20261123T030007Z-[0-9a-f]{8}\) took 12\.0s, within 0\.5 of the dump Lambda's 15m00s \(7m30s\), so efs: host db\.internal is a private name/,
      );
    });

    it('auto: takes runnerAuto.fargateAbove and the Lambda’s configured timeout', async () => {
      const world = await stepWorld({ targetYaml: 'runner: auto, runnerAuto: { fargateAbove: 0.9 }' });
      await backupThatTook(world, new Date(at.getTime() - day), 620);
      await expect(planAt(world, at)).resolves.toMatchObject({ runner: 'efs' });
    });
  });
});
