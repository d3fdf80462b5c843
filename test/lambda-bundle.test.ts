/**
 * The handlers as Lambda runs them: bundled by esbuild into single files, loading the config
 * named by STEPVAULT_CONFIG, called with the state's input.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctions } from '../scripts/build.ts';
import { handlerFile, STEP_NAMES } from '../src/steps/table.ts';

const root = path.join(import.meta.dirname, '..');
let outdir: string;
const MB = 1024 * 1024;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'stepvault-bundle-'));
  await buildFunctions(outdir);
  await writeFile(
    path.join(outdir, 'stepvault.config.yml'),
    `destinations: { local: { type: filesystem, path: /mnt/backups } }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, destinations: [local], staging: /mnt/staging }
`,
  );
  process.env.STEPVAULT_CONFIG = path.join(outdir, 'stepvault.config.yml');
});

afterAll(async () => {
  delete process.env.STEPVAULT_CONFIG;
  await rm(outdir, { recursive: true, force: true });
});

describe('bundled Lambda handlers', () => {
  it('bundles one self-contained file per step, with the settings serverless packages with', async () => {
    const settings = createRequire(import.meta.url)('../scripts/serverless/esbuild.cjs') as { banner: { js: string } };
    for (const name of STEP_NAMES) {
      expect((await stat(path.join(outdir, name, 'index.mjs'))).size).toBeGreaterThan(1000);
      expect((await readFile(path.join(outdir, name, 'index.mjs'), 'utf8')).split('\n')[0], name).toBe(
        settings.banner.js,
      );
    }
  });

  it('keeps every bundle under 1 MB, but those that carry SQL Server’s driver', async () => {
    // Dump, StreamDump and CheckRdsBackup reach SQL Server through mssql (tedious, its Azure identity
    // and charset tables) by the dumpers' registry: about 1.7 MB minified that a function connecting
    // to SQL Server cannot leave out.
    const budgets: Record<string, number> = { dump: 3 * MB, streamDump: 3 * MB, checkRdsBackup: 3 * MB };
    for (const name of STEP_NAMES) {
      const { size } = await stat(path.join(outdir, name, 'index.mjs'));
      expect(size, name).toBeLessThanOrEqual(budgets[name] ?? 1 * MB);
    }
  });

  it('runs Plan from its bundle with the config from STEPVAULT_CONFIG', async () => {
    const { handler } = await import(pathToFileURL(path.join(outdir, 'plan', 'index.mjs')).href);
    const result = await handler({
      request: { target: 'orders' },
      execution: {
        id: 'arn:aws:states:eu-west-1:123456789012:execution:backup:orders-1',
        name: 'orders-1',
        startTime: '2026-11-22T03:00:00.000Z',
      },
    });
    expect(result).toMatchObject({
      target: 'orders',
      engine: 'postgres',
      objectKey: expect.stringMatching(/^orders\/20261122\/orders-20261122T030000Z-[0-9a-f]{8}\.dump$/),
      stagingDir: expect.stringMatching(/^\/mnt\/staging\/orders-20261122T030000Z-[0-9a-f]{8}$/),
      destinations: [{ name: 'local', type: 'filesystem', required: true }],
    });
  });

  it('reports a bad target as a ConfigError, the name the state machine matches', async () => {
    const { handler } = await import(pathToFileURL(path.join(outdir, 'plan', 'index.mjs')).href);
    const execution = { id: 'x', name: 'x', startTime: '2026-11-22T03:00:00.000Z' };
    await expect(handler({ request: { target: 'nope' }, execution })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('unknown target "nope"'),
    });
  });
});

describe('a bundled CLI', () => {
  it('has every step’s handler, although the local runner loads them by name', async () => {
    const { outputFileExtension: _, ...settings } = createRequire(import.meta.url)(
      '../scripts/serverless/esbuild.cjs',
    ) as BuildOptions & { outputFileExtension: string };
    const result = await build({
      ...settings,
      entryPoints: [path.join(root, 'src/cli.ts')],
      outfile: path.join(outdir, 'cli', 'index.mjs'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    for (const step of STEP_NAMES) expect(inputs, step).toContain(handlerFile(step));
  });
});
