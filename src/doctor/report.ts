/** How doctor's answer is printed: one line per check (✓ ✗ –), the fix indented under a failure. */
import type { DoctorReport } from '../contracts.ts';
import type { CheckResult } from './types.ts';

const MARK = { ok: '✓', fail: '✗', skip: '–' } as const;

/** `from` says where the checks ran when it was not this machine (a deployed stage). */
export function formatText(target: string, results: readonly CheckResult[], from?: string): string {
  // Aligned details, unless a long name (a deep secret path) would push every detail far right.
  const width = Math.min(44, Math.max(...results.map((r) => r.name.length)));
  const lines = [`doctor: target ${target}${from ? `, from ${from}` : ''}`];
  for (const result of results) {
    lines.push(`${MARK[result.status]} ${result.name.padEnd(width)}  ${result.detail}`);
    if (result.fix) lines.push(`  ${' '.repeat(width)}  fix: ${result.fix}`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  lines.push(
    failed === 0 && skipped === 0
      ? `all ${results.length} checks passed`
      : `${failed} failed, ${skipped} skipped, ${results.length - failed - skipped} passed`,
  );
  return `${lines.join('\n')}\n`;
}

export function doctorReport(target: string, results: readonly CheckResult[]): DoctorReport {
  return { target, ok: !results.some((r) => r.status === 'fail'), checks: [...results] };
}

/** `extra` adds fields beside the report's (where it ran). */
export function formatJson(
  target: string,
  results: readonly CheckResult[],
  extra: Record<string, string> = {},
): string {
  return `${JSON.stringify({ ...doctorReport(target, results), ...extra }, null, 2)}\n`;
}
