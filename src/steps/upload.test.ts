import { text } from 'node:stream/consumers';
import { describe, expect, it, vi } from 'vitest';
import type { DestinationRef, ServerWrittenDump, StoredBackup } from '../contracts.ts';
import type { Dumper } from '../dumpers/types.ts';
import type { MemoryStorage } from '../storage/memory.ts';
import { plan } from './plan.ts';
import { streamDump } from './streamDump.ts';
import { execution, fakeDumper, stagedDump, stepWorld } from './testing.ts';
import { upload } from './upload.ts';

// Only the dumper is faked, and only where a test streams a dump; the rest is the real step.
const dumpers = vi.hoisted(() => ({ current: undefined as Dumper | undefined }));
vi.mock('../dumpers/registry.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../dumpers/registry.ts')>();
  return { dumperFor: (target: Parameters<typeof real.dumperFor>[0]) => dumpers.current ?? real.dumperFor(target) };
});

const at = new Date('2026-11-22T03:00:07Z');

async function plannedRun(world: Awaited<ReturnType<typeof stepWorld>>) {
  const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
  return { plan: planned, dump: await stagedDump(planned), destination: planned.destinations[0]! };
}

describe('Upload', () => {
  it('stores the dump with its metadata, then the manifest that makes it a backup', async () => {
    const world = await stepWorld({ destinations: { mem: { prefix: 'db' } } });
    const input = await plannedRun(world);
    const result = (await upload(input, world.runtime)) as StoredBackup;
    expect(result).toMatchObject({
      status: 'stored',
      destination: 'mem',
      type: 'memory',
      size: input.dump.size,
      sha256: input.dump.sha256,
    });
    expect(result.key).toBe(`db/${input.plan.objectKey}`);
    expect(result.location).toBe(`memory://mem/${result.key}`);
    const storage = (await world.storage('mem')) as MemoryStorage;
    expect(await storage.head(result.key)).toEqual({ key: result.key, size: input.dump.size });
    expect(storage.metadata(result.key)).toMatchObject({ sha256: input.dump.sha256 });
    const manifest = JSON.parse(await text((await storage.get(result.manifestKey))!)) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      key: result.key,
      target: 'orders',
      size: input.dump.size,
      sha256: input.dump.sha256,
      executionId: input.plan.executionId,
    });
    // Progress names the destination, as the map uploads to several side by side.
    expect(world.progress.at(-1)).toEqual({
      state: 'Upload',
      item: 'mem',
      bytes: input.dump.size,
      totalBytes: input.dump.size,
    });
  });

  it('counts a retry that finds its own earlier attempt stored as stored', async () => {
    const world = await stepWorld();
    const input = await plannedRun(world);
    const first = (await upload(input, world.runtime)) as StoredBackup;
    world.clock.now = new Date(at.getTime() + 60_000);
    const retry = (await upload(input, world.runtime)) as StoredBackup;
    expect(retry.key).toBe(first.key);
    expect(world.logs).toContainEqual(
      expect.objectContaining({
        message: 'the manifest of an earlier attempt of this run is already stored',
        key: first.manifestKey,
      }),
    );
  });

  it('refuses to replace another run’s manifest under its key', async () => {
    const world = await stepWorld();
    const input = await plannedRun(world);
    const stored = (await upload(input, world.runtime)) as StoredBackup;
    const storage = await world.storage('mem');
    // Another execution's bytes and manifest at the same key: nothing of ours may replace them.
    await storage.delete(stored.key);
    const other = { ...input, plan: { ...input.plan, executionId: `${input.plan.executionId}-other` } };
    await expect(upload(other, world.runtime)).rejects.toMatchObject({
      name: 'ObjectExistsError',
      message: expect.stringMatching(/already exists .*nothing was replaced/),
    });
    const manifest = JSON.parse(await text((await storage.get(stored.manifestKey))!)) as { executionId: string };
    expect(manifest.executionId).toBe(input.plan.executionId);
  });

  it('fails with a ConfigError naming a destination that cannot be written, and leaves no manifest', async () => {
    const world = await stepWorld({ destinations: { mem: { readOnly: true } } });
    const input = await plannedRun(world);
    await expect(upload(input, world.runtime)).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('destination mem: cannot write'),
    });
    const storage = await world.storage('mem');
    const keys: string[] = [];
    for await (const object of storage.list('')) keys.push(object.key);
    expect(keys).toEqual([]);
  });

  it('adds only the manifest to an object the server wrote itself, and refuses to describe it in another destination', async () => {
    const world = await stepWorld({ destinations: { mem: { prefix: 'db' } } });
    const { plan: planned, dump: staged, destination } = await plannedRun(world);
    const key = `db/${planned.objectKey}`;
    const storage = (await world.storage('mem')) as MemoryStorage;
    await storage.putFile(key, staged.file, {
      size: staged.size,
      sha256: staged.sha256,
      metadata: { writer: 'the server' },
    });
    const { file: _staged, ...facts } = staged;
    const written: ServerWrittenDump = {
      ...facts,
      kind: 'server-written',
      task: { taskId: 7, destination: 'mem', key, lifecycle: 'SUCCESS', percent: 100, attempts: 3, maxAttempts: 20 },
    };
    const result = (await upload({ plan: planned, dump: written, destination }, world.runtime)) as StoredBackup;
    expect(result).toMatchObject({ key, size: staged.size, sha256: staged.sha256 });
    // The server's object is left as it wrote it: not stored again over it.
    expect(storage.metadata(key)).toEqual({ writer: 'the server' });
    expect(JSON.parse(await text((await storage.get(result.manifestKey))!))).toMatchObject({
      key,
      size: staged.size,
      sha256: staged.sha256,
    });

    const elsewhere = { ...written, task: { ...written.task, destination: 'offsite' } };
    await expect(upload({ plan: planned, dump: elsewhere, destination }, world.runtime)).rejects.toMatchObject({
      name: 'DumpError',
      message: 'the server wrote the backup of orders into offsite, not mem',
    });
  });

  describe('a streamed dump', () => {
    /** Plan and StreamDump with a fake dumper: the dump and its manifest are in the first destination. */
    async function streamedRun(world: Awaited<ReturnType<typeof stepWorld>>) {
      dumpers.current = fakeDumper({ content: 'streamed dump\n' });
      const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
      return { plan: planned, dump: await streamDump(planned, world.runtime) };
    }

    it('is checked where it was streamed, and copied with its own manifest everywhere else', async () => {
      const world = await stepWorld({
        destinations: { first: {}, second: { prefix: 'copies' } },
        targetYaml: 'runner: lambda',
      });
      const { plan: planned, dump } = await streamedRun(world);
      const [first, second] = planned.destinations as [DestinationRef, DestinationRef];
      const there = (await upload({ plan: planned, dump, destination: first }, world.runtime)) as StoredBackup;
      expect(there).toMatchObject({ destination: 'first', key: dump.key, manifestKey: dump.manifestKey, seconds: 0 });
      const copied = (await upload({ plan: planned, dump, destination: second }, world.runtime)) as StoredBackup;
      expect(copied).toMatchObject({ destination: 'second', key: `copies/${planned.objectKey}`, size: dump.size });
      const storage = (await world.storage('second')) as MemoryStorage;
      expect(await text((await storage.get(copied.key))!)).toBe('streamed dump\n');
      expect(storage.metadata(copied.key)).toMatchObject({ sha256: dump.sha256 });
      expect(JSON.parse(await text((await storage.get(copied.manifestKey))!))).toMatchObject({
        key: copied.key,
        sha256: dump.sha256,
        executionId: planned.executionId,
      });
      // A retry of the copy finds its own earlier attempt there and counts it as stored.
      await expect(upload({ plan: planned, dump, destination: second }, world.runtime)).resolves.toMatchObject({
        key: copied.key,
      });
    });

    it('refuses a copy that is not the dump, and stores nothing', async () => {
      const world = await stepWorld({ destinations: { first: {}, second: {} }, targetYaml: 'runner: lambda' });
      const { plan: planned, dump } = await streamedRun(world);
      const wrong = { ...dump, sha256: '0'.repeat(64) };
      await expect(
        upload({ plan: planned, dump: wrong, destination: planned.destinations[1]! }, world.runtime),
      ).rejects.toMatchObject({
        name: 'ChecksumMismatchError',
        message: `cannot copy ${planned.objectKey} from destination first to second: read ${dump.size} bytes with SHA-256 ${dump.sha256}, expected ${dump.size} bytes with ${'0'.repeat(64)}; nothing was stored`,
      });
      expect(await (await world.storage('second')).head(planned.objectKey)).toBeUndefined();
      await expect(
        upload({ plan: planned, dump: wrong, destination: planned.destinations[0]! }, world.runtime),
      ).rejects.toMatchObject({
        name: 'ChecksumMismatchError',
        message: `first (memory://first/${planned.objectKey}), where the dump was streamed: its manifest does not describe this dump`,
      });
    });

    it('fails with a StorageError when the object it copies from is gone', async () => {
      const world = await stepWorld({ destinations: { first: {}, second: {} }, targetYaml: 'runner: lambda' });
      const { plan: planned, dump } = await streamedRun(world);
      await (await world.storage('first')).delete(dump.key);
      await expect(
        upload({ plan: planned, dump, destination: planned.destinations[1]! }, world.runtime),
      ).rejects.toMatchObject({
        name: 'StorageError',
        message: `cannot copy ${planned.objectKey} from destination first to second: memory://first/${planned.objectKey} does not exist`,
      });
    });
  });
});
