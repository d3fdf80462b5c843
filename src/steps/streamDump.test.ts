import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StreamedDump } from '../contracts.ts';
import type { Dumper } from '../dumpers/types.ts';
import { DumpError } from '../errors.ts';
import type { MemoryStorage } from '../storage/memory.ts';
import { plan } from './plan.ts';
import { streamDump } from './streamDump.ts';
import { execution, fakeDumper, stepWorld } from './testing.ts';

// The engine's dumper is the only thing faked: everything else is the real step.
const dumpers = vi.hoisted(() => ({ current: undefined as Dumper | undefined }));
vi.mock('../dumpers/registry.ts', () => ({ dumperFor: () => dumpers.current }));

afterEach(() => vi.unstubAllEnvs());

const at = new Date('2026-11-22T03:00:07Z');
const content = 'CREATE TABLE t (id int);\n';
const sha256 = createHash('sha256').update(content).digest('hex');

async function lambdaWorld(destinations?: NonNullable<Parameters<typeof stepWorld>[0]>['destinations']) {
  dumpers.current = fakeDumper();
  const world = await stepWorld({ ...(destinations && { destinations }), targetYaml: 'runner: lambda' });
  const run = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
  return { world, run };
}

describe('StreamDump', () => {
  it('streams the dump into the first required destination, then its manifest; nothing is staged', async () => {
    const { world, run } = await lambdaWorld({ spare: { required: false }, main: { prefix: 'db' }, other: {} });
    const fake = fakeDumper({ content });
    dumpers.current = fake;
    const result = await streamDump(run, world.runtime);
    const key = `db/${run.objectKey}`;
    expect(result).toEqual({
      kind: 'streamed',
      destination: 'main',
      key,
      manifestKey: `${key}.manifest.json`,
      size: content.length,
      sha256,
      compression: 'custom',
      tool: { name: 'fake_dump', version: '1.0' },
      serverVersion: '18.1',
      startedAt: at.toISOString(),
      finishedAt: at.toISOString(),
      durationSeconds: 0,
    } satisfies StreamedDump);
    const main = (await world.storage('main')) as MemoryStorage;
    expect(await text((await main.get(key))!)).toBe(content);
    expect(main.metadata(key)).toEqual({
      'backup-type': 'postgres',
      database: 'orders',
      timestamp: run.startedAt,
      timezone: 'UTC',
    });
    const manifest = JSON.parse(await text((await main.get(result.manifestKey))!)) as Record<string, unknown>;
    expect(manifest).toMatchObject({ key, size: content.length, sha256, executionId: run.executionId });
    // Only the first required destination: the others get their copy in Upload.
    for (const other of ['spare', 'other']) {
      const storage = await world.storage(other);
      expect(await storage.head(run.objectKey), other).toBeUndefined();
    }
    expect(await readdir(world.staging)).toEqual([]);
    expect(world.progress.at(-1)).toEqual({ state: 'StreamDump', bytes: content.length });
  });

  it('publishes nothing when the dump is refused before it becomes visible, and hands the error on', async () => {
    const { world, run } = await lambdaWorld();
    const failure = new DumpError('pg_dump exited with code 1: connection lost');
    dumpers.current = fakeDumper({ content, error: failure });
    await expect(streamDump(run, world.runtime)).rejects.toBe(failure);
    const storage = await world.storage('mem');
    const keys: string[] = [];
    for await (const object of storage.list('')) keys.push(object.key);
    expect(keys).toEqual([]);
  });

  it('fails with the destination’s error when the first destination cannot be written, and dumps nothing there', async () => {
    const { world, run } = await lambdaWorld({ mem: { readOnly: true } });
    dumpers.current = fakeDumper({ content });
    await expect(streamDump(run, world.runtime)).rejects.toMatchObject({
      name: 'ConfigError',
      message: `destination mem: cannot write ${run.objectKey}: the store is read-only`,
    });
  });

  it('returns what an earlier attempt of the run published, without dumping again', async () => {
    const { world, run } = await lambdaWorld();
    dumpers.current = fakeDumper({ content });
    const first = await streamDump(run, world.runtime);
    const again = fakeDumper({ content: 'a different dump\n' });
    dumpers.current = again;
    expect(await streamDump(run, world.runtime)).toEqual(first);
    expect(again.requests).toEqual([]);
    expect(world.logs).toContainEqual(
      expect.objectContaining({ message: 'an earlier attempt of this run published the dump already' }),
    );
  });

  it('removes a dump an earlier attempt left without its manifest, and dumps again', async () => {
    const { world, run } = await lambdaWorld();
    const storage = await world.storage('mem');
    await storage.putText(run.objectKey, 'half a dump', 'application/octet-stream');
    dumpers.current = fakeDumper({ content });
    const result = await streamDump(run, world.runtime);
    expect(await text((await storage.get(result.key))!)).toBe(content);
    expect(world.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'removed the dump an earlier attempt left without its manifest',
      }),
    );
  });

  it('never replaces a manifest of another execution under its key', async () => {
    const { world, run } = await lambdaWorld();
    dumpers.current = fakeDumper({ content });
    await streamDump(run, world.runtime);
    const other = { ...run, executionId: `${run.executionId}-other` };
    await expect(streamDump(other, world.runtime)).rejects.toMatchObject({
      name: 'ObjectExistsError',
      message: `destination mem: memory://mem/${run.objectKey}.manifest.json already exists and belongs to another run; nothing was replaced`,
    });
  });

  it('refuses an engine whose dump cannot be streamed, with the fix', async () => {
    const { world, run } = await lambdaWorld();
    const { dumpInto: _, ...staging } = fakeDumper();
    dumpers.current = staging;
    await expect(streamDump(run, world.runtime)).rejects.toMatchObject({
      name: 'ConfigError',
      message:
        'targets.orders: engine postgres cannot stream its dump into a destination (the server writes a backup file itself); set runner: efs',
    });
  });
});
