import { createHash } from 'node:crypto';
import { mkdir, readdir, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dumper } from '../dumpers/types.ts';
import { DumpError } from '../errors.ts';
import { dump } from './dump.ts';
import { plan } from './plan.ts';
import { execution, fakeDumper, stepWorld } from './testing.ts';

// The engine's dumper is the only thing faked: everything else is the real step.
const dumpers = vi.hoisted(() => ({ current: undefined as Dumper | undefined }));
vi.mock('../dumpers/registry.ts', () => ({ dumperFor: () => dumpers.current }));

afterEach(() => vi.unstubAllEnvs());

const at = new Date('2026-11-22T03:00:07Z');

async function planned(world: Awaited<ReturnType<typeof stepWorld>>) {
  return plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
}

describe('Dump', () => {
  it('dumps into the run’s own private folder and describes the dump by the bytes written', async () => {
    const world = await stepWorld({ targetYaml: 'password: "env:STEPVAULT_UNIT_DUMP_PASSWORD"' });
    vi.stubEnv('STEPVAULT_UNIT_DUMP_PASSWORD', 'unit-s3cret');
    const fake = fakeDumper({ content: 'CREATE TABLE t (id int);\n' });
    dumpers.current = fake;
    const run = await planned(world);
    const result = await dump(run, world.runtime);
    expect(result).toMatchObject({
      kind: 'staged',
      file: path.join(run.stagingDir, run.fileName),
      size: 25,
      sha256: createHash('sha256').update('CREATE TABLE t (id int);\n').digest('hex'),
      tool: { name: 'fake_dump', version: '1.0' },
      startedAt: at.toISOString(),
    });
    expect(fake.requests).toEqual([{ file: path.join(run.stagingDir, run.fileName), password: 'unit-s3cret' }]);
    expect((await stat(run.stagingDir)).mode & 0o777).toBe(0o700);
    expect(world.progress).toEqual([
      { state: 'Dump', bytes: 12 },
      { state: 'Dump', bytes: 25 },
    ]);
  });

  it('opens the run’s folder to its group only for a dumper whose database server writes the file itself', async () => {
    const world = await stepWorld();
    dumpers.current = { ...fakeDumper(), serverWritesFile: true };
    const run = await planned(world);
    await dump(run, world.runtime);
    // Group read and search at least (the umask may take group write); others nothing.
    expect((await stat(run.stagingDir)).mode & 0o057).toBe(0o050);
  });

  it('removes what a failed dump wrote and hands the dumper’s error on', async () => {
    const world = await stepWorld();
    const failure = new DumpError('pg_dump exited with code 1: connection lost');
    dumpers.current = fakeDumper({ error: failure });
    const run = await planned(world);
    await expect(dump(run, world.runtime)).rejects.toBe(failure);
    expect(await readdir(run.stagingDir)).toEqual([]);
  });

  it('removes staging left by runs that never reached Cleanup, and keeps recent ones', async () => {
    const world = await stepWorld();
    dumpers.current = fakeDumper();
    const stale = path.join(world.staging, 'orders-20260101T030000Z-0123abcd');
    const recent = path.join(world.staging, 'orders-20261122T020000Z-4567cdef');
    await mkdir(stale);
    await mkdir(recent);
    const longAgo = new Date('2026-01-01T03:00:00Z');
    await utimes(stale, longAgo, longAgo);
    await dump(await planned(world), world.runtime);
    await expect(stat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(recent)).resolves.toBeDefined();
    expect(world.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'stale staging removed: runs that never reached Cleanup',
        folders: [stale],
      }),
    );
  });
});
