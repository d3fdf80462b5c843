import { describe, expect, it } from 'vitest';
import type { StoredBackup } from '../contracts.ts';
import { storedRun, stepWorld } from './testing.ts';
import { verify } from './verify.ts';

const at = new Date('2026-11-22T03:00:07Z');

describe('Verify', () => {
  it('checks size and manifest in every destination the dump was stored in', async () => {
    const world = await stepWorld({ destinations: { mem: {}, spare: {} } });
    const run = await storedRun(world, at);
    await expect(verify(run, world.runtime)).resolves.toEqual({
      destinations: [
        { destination: 'mem', checked: 'manifest' },
        { destination: 'spare', checked: 'manifest' },
      ],
    });
  });

  it('with verify.download, downloads each dump and checks its SHA-256', async () => {
    const world = await stepWorld({ targetYaml: 'verify: { download: true }' });
    const run = await storedRun(world, at);
    await expect(verify(run, world.runtime)).resolves.toEqual({
      destinations: [{ destination: 'mem', checked: 'download' }],
    });
  });

  it('fails with ChecksumMismatchError when the dump is missing, saying where', async () => {
    const world = await stepWorld();
    const run = await storedRun(world, at);
    const stored = run.upload[0] as StoredBackup;
    await (await world.storage('mem')).delete(stored.key);
    await expect(verify(run, world.runtime)).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `verify mem (${stored.location}): the dump is missing`,
    });
  });

  it('fails when the manifest is missing, or describes other bytes', async () => {
    const world = await stepWorld();
    const run = await storedRun(world, at);
    const stored = run.upload[0] as StoredBackup;
    const otherBytes = { ...run, dump: { ...run.dump, sha256: 'f'.repeat(64) } };
    await expect(verify(otherBytes, world.runtime)).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `verify mem (${stored.location}): the manifest does not describe this dump`,
    });
    await (await world.storage('mem')).delete(stored.manifestKey);
    await expect(verify(run, world.runtime)).rejects.toMatchObject({
      name: 'ChecksumMismatchError',
      message: `verify mem (${stored.location}): the manifest is missing or unreadable`,
    });
  });

  it('fails when the stored dump has another size than the one dumped', async () => {
    const world = await stepWorld();
    const run = await storedRun(world, at);
    const stored = run.upload[0] as StoredBackup;
    const longer = { ...run, dump: { ...run.dump, size: run.dump.size + 1 } };
    await expect(verify(longer, world.runtime)).rejects.toMatchObject({
      message: `verify mem (${stored.location}): the dump has ${run.dump.size} bytes, ${run.dump.size + 1} were dumped`,
    });
  });

  it('skips a destination whose upload failed', async () => {
    const world = await stepWorld();
    const run = await storedRun(world, at);
    const upload = [
      ...run.upload,
      { status: 'failed' as const, destination: 'gone', error: 'StorageError', cause: 'unreachable' },
    ];
    await expect(verify({ ...run, upload }, world.runtime)).resolves.toEqual({
      destinations: [{ destination: 'mem', checked: 'manifest' }],
    });
  });
});
