/** The test run's closing line and its exit code always say the same thing. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const SCRIPT = path.join(import.meta.dirname, '../scripts/test-summary.ts');
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'stepvault-summary-'));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function summary(report: Record<string, number>, status?: number): Promise<{ code: number; last: string }> {
  const file = path.join(folder, `${Math.random().toString(16).slice(2)}.json`);
  await writeFile(file, JSON.stringify(report));
  try {
    const { stdout } = await run(process.execPath, [SCRIPT, file, ...(status === undefined ? [] : [String(status)])]);
    return { code: 0, last: stdout.trim().split('\n').at(-1)! };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, last: e.stdout.trim().split('\n').at(-1)! };
  }
}

const passing = { numPassedTests: 120, numFailedTests: 0, numPendingTests: 0, numFailedTestSuites: 0 };

describe('scripts/test-summary.ts', () => {
  it('a green run: "N passed, 0 failed" and exit 0', async () => {
    expect(await summary(passing, 0)).toEqual({ code: 0, last: '120 passed, 0 failed' });
  });

  it('every test passed but vitest exited 1 (an unhandled error): the line says FAILED and the exit is 1', async () => {
    const result = await summary(passing, 1);
    expect(result.code).toBe(1);
    expect(result.last).toBe(
      'FAILED: 120 passed, 0 failed, but the test run exited 1 (errors outside the tests, e.g. unhandled; see above)',
    );
  });

  it('a file that failed outside its tests (a hook) fails the summary too', async () => {
    const result = await summary({ ...passing, numFailedTestSuites: 1 }, 1);
    expect(result).toEqual({
      code: 1,
      last: 'FAILED: 120 passed, 0 failed, but 1 test file(s) or suite(s) failed outside their tests; see above',
    });
  });

  it('failed tests and runs with no test stay as they were', async () => {
    expect(await summary({ ...passing, numFailedTests: 2 }, 1)).toEqual({ code: 1, last: '120 passed, 2 failed' });
    expect(await summary({ numPassedTests: 0, numFailedTests: 0, numPendingTests: 0 })).toEqual({
      code: 1,
      last: '0 passed, 0 failed',
    });
  });
});
