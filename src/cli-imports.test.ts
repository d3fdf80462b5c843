/**
 * What the command line loads before it answers: `--help` and a mistyped command must not load the
 * config schema, the AWS SDK, the dumpers or the workflow engine, so they answer at once. Every
 * module Node resolves in a fresh process is recorded by a resolve hook, then checked.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = path.join(import.meta.dirname, 'cli.ts');

/** Runs `main(argv)` in a fresh Node process and returns the URL of every module it resolved. */
async function modulesLoadedBy(argv: string[]): Promise<string[]> {
  const script = `
import { registerHooks } from 'node:module';
const urls = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
const { main } = await import(${JSON.stringify(cli)});
await main(${JSON.stringify(argv)}, { write() {} }, { write() {} });
process.stderr.write(JSON.stringify(urls));`;
  const { stderr } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stderr) as string[];
}

const HEAVY = ['node_modules/@aws-sdk/', 'node_modules/zod/', 'node_modules/yaml/', 'aws-local-stepfunctions', 'mssql'];

describe('the command line', () => {
  it('answers --help having loaded nothing but itself', async () => {
    const loaded = await modulesLoadedBy(['--help']);
    expect(loaded.some((url) => url.endsWith('/src/commands/usage.ts'))).toBe(true);
    expect(loaded.filter((url) => !url.startsWith('node:') && url.includes('node_modules'))).toEqual([]);
    expect(loaded.filter((url) => /\/src\/(dumpers|local|config|storage|steps)\//.test(url))).toEqual([]);
  });

  it('answers a mistyped command without the AWS SDK, the config, the dumpers or the workflow engine', async () => {
    const loaded = await modulesLoadedBy(['rnu']);
    for (const heavy of HEAVY)
      expect(
        loaded.filter((url) => url.includes(heavy)),
        heavy,
      ).toEqual([]);
    expect(loaded.filter((url) => /\/src\/(dumpers|local|storage|steps)\//.test(url))).toEqual([]);
  });
});
