import { describe, expect, it } from 'vitest';
import { formatJson, formatText } from './report.ts';
import { runChecks } from './run-checks.ts';
import type { Check, CheckResult, DoctorContext } from './types.ts';
import { fail, ok } from './types.ts';

const context = {} as DoctorContext;

describe('runChecks', () => {
  it('skips a check whose prerequisite failed, naming it, and runs the independent ones', async () => {
    const ran: string[] = [];
    const check = (id: string, name: string, line: CheckResult, needs?: string[]): Check => ({
      id,
      name,
      ...(needs && { needs }),
      async run() {
        ran.push(id);
        return [line];
      },
    });
    const checks = [
      check('a', 'alpha', fail('alpha', 'down', 'bring it up')),
      check('b', 'beta', ok('beta', 'fine'), ['a']),
      check('c', 'gamma', ok('gamma', 'fine'), ['b']),
      check('d', 'delta', ok('delta', 'fine')),
    ];
    const results = await runChecks(checks, context);
    expect(ran).toEqual(['a', 'd']);
    expect(results.map((r) => [r.name, r.status, r.detail])).toEqual([
      ['alpha', 'fail', 'down'],
      ['beta', 'skip', 'not checked: alpha did not pass'],
      ['gamma', 'skip', 'not checked: beta did not pass'],
      ['delta', 'ok', 'fine'],
    ]);
  });

  it('turns a check that throws into its failed line', async () => {
    const results = await runChecks(
      [{ id: 'x', name: 'x', run: async () => Promise.reject(new Error('it broke')) }],
      context,
    );
    expect(results).toEqual([{ name: 'x', status: 'fail', detail: 'it broke' }]);
  });
});

describe('report', () => {
  const results = [ok('tcp', 'db:5432 accepts connections'), fail('login', 'password refused', 'check the password')];

  it('prints one line per check, the fix under a failure, and a summary', () => {
    expect(formatText('orders', results)).toBe(
      [
        'doctor: target orders',
        '✓ tcp    db:5432 accepts connections',
        '✗ login  password refused',
        '         fix: check the password',
        '1 failed, 0 skipped, 1 passed',
        '',
      ].join('\n'),
    );
  });

  it('prints the same as JSON, ok only when nothing failed', () => {
    expect(JSON.parse(formatJson('orders', results))).toEqual({ target: 'orders', ok: false, checks: results });
    expect(JSON.parse(formatJson('orders', [results[0]!])).ok).toBe(true);
  });
});
