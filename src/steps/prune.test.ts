import { describe, expect, it } from 'vitest';
import type { StoredBackup } from '../contracts.ts';
import { prune } from './prune.ts';
import { storedRun, stepWorld } from './testing.ts';

const day = (n: number) => new Date(Date.UTC(2026, 10, n, 3, 0, 7));
const stored = (run: { upload: unknown[] }) => run.upload[0] as StoredBackup;

describe('Prune', () => {
  it('deletes what the policy does not keep, manifest and dump, and keeps the rest', async () => {
    const world = await stepWorld({ targetYaml: 'retention: { keepLast: 2 }' });
    const runs = [await storedRun(world, day(1)), await storedRun(world, day(2)), await storedRun(world, day(3))];
    const result = await prune({ plan: runs[2]!.plan, upload: runs[2]!.upload }, world.runtime);
    expect(result).toEqual({ destinations: [{ destination: 'mem', kept: 2, deleted: [stored(runs[0]!).key] }] });
    const storage = await world.storage('mem');
    expect(await storage.head(stored(runs[0]!).key)).toBeUndefined();
    expect(await storage.head(stored(runs[0]!).manifestKey)).toBeUndefined();
    for (const run of runs.slice(1)) {
      expect(await storage.head(stored(run).key)).toBeDefined();
      expect(await storage.head(stored(run).manifestKey)).toBeDefined();
    }
  });

  it('deletes nothing when this run’s backup is missing from the listing, and says so', async () => {
    const world = await stepWorld({ targetYaml: 'retention: { keepLast: 1 }' });
    const older = await storedRun(world, day(1));
    const current = await storedRun(world, day(2));
    const storage = await world.storage('mem');
    // A store whose listing does not show the manifest just written (eventual consistency, a wrong prefix).
    await storage.delete(stored(current).manifestKey);
    const result = await prune({ plan: current.plan, upload: current.upload }, world.runtime);
    expect(result).toEqual({ destinations: [{ destination: 'mem', kept: 1, deleted: [] }] });
    expect(await storage.head(stored(older).key)).toBeDefined();
    expect(await storage.head(stored(older).manifestKey)).toBeDefined();
    expect(world.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'this run’s backup is missing from the listing; nothing pruned',
        destination: 'mem',
        key: stored(current).key,
      }),
    );
  });

  it('leaves a destination alone whose upload failed', async () => {
    const world = await stepWorld({ destinations: { mem: {}, spare: {} }, targetYaml: 'retention: { keepLast: 1 }' });
    await storedRun(world, day(1));
    const current = await storedRun(world, day(2));
    const upload = [
      current.upload[0]!,
      { status: 'failed' as const, destination: 'spare', error: 'StorageError', cause: 'unreachable' },
    ];
    const result = await prune({ plan: current.plan, upload }, world.runtime);
    expect(result.destinations.map((d) => d.destination)).toEqual(['mem']);
    const spare = await world.storage('spare');
    const left: string[] = [];
    for await (const object of spare.list('')) left.push(object.key);
    expect(left).toHaveLength(4); // both runs' dump and manifest
  });
});
