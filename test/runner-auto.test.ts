/**
 * `runner: auto` through the real state machine: with no backup to go by, the dump runs where the
 * default rule puts it; once the newest backup's dump took longer than runnerAuto.fargateAbove of
 * the Lambda's time limit, the next run moves to fargate, and its mail says so and why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanResult } from '../src/contracts.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, type RunRecord, workspacePool } from './helpers/workspace.ts';

const database = uniqueName('sv_runner_auto');
const workspaces = workspacePool();

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g');
});

afterAll(async () => {
  await dropDatabase(database);
  await workspaces.removeAll();
});

function planned(record: RunRecord): PlanResult {
  const exit = record.events.find((e) => e.type === 'state-exited' && e.state === 'Plan');
  return (exit as { output: { plan: PlanResult } }).output.plan;
}

describe('runner auto', () => {
  it('moves the next run to fargate once the last dump took longer than its share of the Lambda limit', async () => {
    const workspace = await workspaces.withConfig(
      configFor(
        { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database, runner: 'auto' },
        // A share so small that any real dump is above it: 0.001 of the dump Lambda's 900 s is 0.9 s.
        {
          defaults: {
            staging: './staging',
            destinations: ['local'],
            notify: ['desk'],
            runnerAuto: { fargateAbove: 0.001 },
          },
        },
      ),
    );
    let now = new Date('2026-11-21T03:00:00Z');
    // The runtime's clock moves a second at each look: the first run's dump takes a second or more.
    let tick = 0;
    const first = await workspace.run('main', { now: () => new Date(now.getTime() + 1000 * tick++) });
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect(planned(first)).toMatchObject({
      runner: 'efs',
      runnerReason:
        'runner auto: no earlier backup in local to go by, so efs: host 127.0.0.1 is a private address, reached only from inside its network',
    });
    expect((first.state.dump as { durationSeconds: number }).durationSeconds).toBeGreaterThan(0.9);

    now = new Date('2026-11-22T03:00:00Z');
    const second = await workspace.run('main', { now: () => now });
    const moved = planned(second);
    expect(moved.runner).toBe('fargate');
    expect(moved.runnerReason).toMatch(
      /^runner auto: the last dump \(main-20261121T030000Z-[0-9a-f]{8}\) took \d+\.\d+s, more than 0\.001 of the dump Lambda's 15m00s \(0\.90s\)$/,
    );
    const mails = await workspace.outbox();
    expect(mails).toHaveLength(2);
    expect(mails[1]!.body).toContain(`Runner:`);
    expect(mails[1]!.body).toContain(`fargate (${moved.runnerReason})`);
  });
});
