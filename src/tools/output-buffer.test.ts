import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OUTPUT_BUFFER_BYTES, outputBufferEnvironment } from './output-buffer.ts';
import { resolveTool } from './resolver.ts';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/** A folder shaped like a built layer: layer.json, bin/mariadb-dump and the loader. */
async function fakeLayer(name: string, manifest: Record<string, unknown>): Promise<string> {
  const root = path.join(await mkdtemp(path.join(tmpdir(), 'stepvault-tools-')), name);
  folders.push(path.dirname(root));
  await mkdir(path.join(root, 'bin'), { recursive: true });
  await writeFile(path.join(root, 'bin', 'mariadb-dump'), '#!/bin/sh\n');
  await chmod(path.join(root, 'bin', 'mariadb-dump'), 0o755);
  const layer = {
    prefix: '/opt/dbtools',
    loader: 'lib/ld-linux-x86-64.so.2',
    libraryDir: 'lib',
    pluginDir: 'lib/plugin',
  };
  await writeFile(path.join(root, 'layer.json'), JSON.stringify({ ...layer, ...manifest }));
  return root;
}

describe('the output buffer of a dump tool', () => {
  it('is the layer’s libstdbuf, preloaded with a 1 MiB buffer', async () => {
    const root = await fakeLayer('dbtools', { outputBufferLibrary: 'lib/libstdbuf.so' });
    const tool = resolveTool(['mariadb-dump'], { STEPVAULT_TOOLS_DIR: root, PATH: '' });
    expect(tool.outputBufferLibrary).toBe(path.join(root, 'lib/libstdbuf.so'));
    expect(outputBufferEnvironment(tool)).toEqual({
      LD_PRELOAD: path.join(root, 'lib/libstdbuf.so'),
      _STDBUF_O: String(1024 * 1024),
    });
    expect(OUTPUT_BUFFER_BYTES).toBe(1024 * 1024);
  });

  it('is left out for a layer built before it, and for a tool found on PATH', async () => {
    const older = await fakeLayer('dbtools', {});
    const fromOlder = resolveTool(['mariadb-dump'], { STEPVAULT_TOOLS_DIR: older, PATH: '' });
    expect(fromOlder.outputBufferLibrary).toBeUndefined();
    expect(outputBufferEnvironment(fromOlder)).toEqual({});

    const onPath = resolveTool(['mariadb-dump'], { PATH: path.join(older, 'bin') });
    expect(onPath.origin).toBe('PATH');
    expect(outputBufferEnvironment(onPath)).toEqual({});
  });

  it('is left out when the layer’s path holds a space or a colon, which LD_PRELOAD would split', async () => {
    for (const name of ['db tools', 'db:tools', 'db\ntools']) {
      const root = await fakeLayer(name, { outputBufferLibrary: 'lib/libstdbuf.so' });
      const tool = resolveTool(['mariadb-dump'], { STEPVAULT_TOOLS_DIR: root, PATH: '' });
      expect(tool.outputBufferLibrary, name).toBe(path.join(root, 'lib/libstdbuf.so'));
      expect(outputBufferEnvironment(tool), name).toEqual({});
    }
  });
});
