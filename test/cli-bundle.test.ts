/**
 * The command line's bundle (scripts/build-cli.ts, bin/cli-bundle.js): bin/stepvault.js runs it
 * only while it is a faithful cache of the sources, and a backup run from it is the same backup.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../scripts/build-cli.ts';
import { createDatabase, dropDatabase, PG, pgRestore, psql, tableDigests, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

describe('bin/stepvault.js and the bundle', () => {
  let checkout: string;

  /** A checkout of two files: a command line that says which module runs it, and its helper. */
  beforeAll(async () => {
    checkout = await mkdtemp(path.join(tmpdir(), 'stepvault-bundle-'));
    await cp(path.join(root, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    await mkdir(path.join(checkout, 'src'));
    await mkdir(path.join(checkout, 'node_modules'));
    await writeFile(path.join(checkout, 'package.json'), '{ "type": "module" }\n');
    await writeFile(path.join(checkout, 'node_modules/.package-lock.json'), '{}\n');
    await writeFile(path.join(checkout, 'src/where.ts'), 'export const where = (url: string): string => url;\n');
    await writeFile(
      path.join(checkout, 'src/cli.ts'),
      `import { where } from './where.ts';
export async function main(): Promise<number> {
  process.stdout.write(where(import.meta.url));
  return 0;
}
`,
    );
  });

  afterAll(async () => {
    await rm(checkout, { recursive: true, force: true });
  });

  const ranFrom = async (env: NodeJS.ProcessEnv = {}) =>
    (await run(process.execPath, [path.join(checkout, 'bin/stepvault.js')], { env: { ...process.env, ...env } }))
      .stdout;

  it('runs the sources when nothing is built', async () => {
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
  });

  it('runs the bundle once built, and the sources again when a file it was built from changes', async () => {
    await buildCli(checkout);
    expect(await ranFrom()).toMatch(/\/dist\/cli\/b-[a-z0-9-]+\/cli\.mjs$/);
    expect(await ranFrom({ STEPVAULT_FROM_SOURCES: '1' })).toMatch(/\/src\/cli\.ts$/);

    const earlier = new Date(Date.now() - 60_000);
    await utimes(path.join(checkout, 'src/where.ts'), earlier, earlier);
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
    await buildCli(checkout);
    expect(await ranFrom()).toMatch(/\/dist\/cli\/b-/);

    // npm installed something else: the dependencies the bundle holds may not be the installed ones.
    await writeFile(path.join(checkout, 'node_modules/.package-lock.json'), '{ "packages": {} }\n');
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
  });

  it('runs the sources when a file it was built from is gone, or the stamp is not one', async () => {
    await buildCli(checkout);
    expect(await ranFrom()).toMatch(/\/dist\/cli\/b-/);
    const stamp = path.join(checkout, 'dist/cli/current.json');
    const stamped = await readFile(stamp, 'utf8');
    await writeFile(stamp, stamped.slice(0, 40));
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
    await writeFile(stamp, stamped);
    expect(await ranFrom()).toMatch(/\/dist\/cli\/b-/);
    await rm(path.join(checkout, 'node_modules/.package-lock.json'));
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
    await writeFile(path.join(checkout, 'node_modules/.package-lock.json'), '{}\n');
  });

  it('keeps an earlier build beside the new one: a run going on from it still finds its chunks', async () => {
    const one = await buildCli(checkout);
    const two = await buildCli(checkout);
    expect(two.entry).not.toBe(one.entry);
    expect(await readFile(one.entry, 'utf8')).toContain('import.meta.url');
    expect(await ranFrom()).toBe(`file://${two.entry}`);
  });

  it('refuses to stamp a build whose sources changed while it ran, and leaves the last one in use', async () => {
    const before = await ranFrom();
    const future = new Date(Date.now() + 60_000);
    await utimes(path.join(checkout, 'src/where.ts'), future, future);
    await expect(buildCli(checkout)).rejects.toThrow(
      'src/where.ts changed while the command line was bundled; build it again',
    );
    await utimes(path.join(checkout, 'src/where.ts'), new Date(), new Date());
    expect(await ranFrom()).toMatch(/\/src\/cli\.ts$/);
    expect(before).toMatch(/\/dist\/cli\/b-/);
  });
});

describe('a backup run from the bundle', () => {
  const database = uniqueName('sv_pg_bundle');
  const restored = uniqueName('sv_pg_bundle_restored');
  let workspace: Workspace;

  beforeAll(async () => {
    await createDatabase(database);
    await psql(database, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 5000) g`);
    workspace = await createWorkspace();
    const target = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };
    await workspace.writeConfig(
      configFor(target, { targets: { main: target, task: { ...target, runner: 'fargate' } } }),
    );
    await buildCli();
  });

  afterAll(async () => {
    await dropDatabase(database);
    await dropDatabase(restored);
    await workspace?.remove();
  });

  /** `stepvault run`, and every module it resolved (a resolve hook records them). */
  async function runRecordingModules(target: string): Promise<{ stdout: string; modules: string[] }> {
    const hook = path.join(workspace.dir, 'record-modules.mjs');
    await writeFile(
      hook,
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); appendFileSync(${JSON.stringify(path.join(workspace.dir, 'modules.txt'))}, r.url + '\\n'); return r; } });
`,
    );
    await rm(path.join(workspace.dir, 'modules.txt'), { force: true });
    const { stdout } = await run(
      process.execPath,
      ['--import', hook, path.join(root, 'bin/stepvault.js'), 'run', '--target', target],
      { cwd: workspace.dir },
    );
    const modules = (await readFile(path.join(workspace.dir, 'modules.txt'), 'utf8')).trim().split('\n');
    return { stdout, modules };
  }

  it('loads no source file and stores a dump that restores to the same rows', async () => {
    const { stdout, modules } = await runRecordingModules('main');
    expect(stdout).toContain('Backup of main succeeded');
    expect(modules.filter((url) => url.includes('/dist/cli/b-')).length).toBeGreaterThan(1);
    expect(modules.filter((url) => url.startsWith(`file://${root}/src/`))).toEqual([]);
    const dump = /local: (\S+\.dump)/.exec(stdout)?.[1];
    expect(dump).toBeDefined();
    await createDatabase(restored);
    await pgRestore(dump!, restored);
    expect(await tableDigests(restored)).toEqual(await tableDigests(database));
  });

  it('starts the fargate runner’s task from the sources, wherever the bundle is', async () => {
    const { stdout } = await runRecordingModules('task');
    expect(stdout).toContain('FargateDump');
    expect(stdout).toContain('Backup of task succeeded');
  });
});
