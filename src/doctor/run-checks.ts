/**
 * Runs the checks in order. A check whose prerequisite did not pass is skipped with the reason;
 * a check that throws is a failure carrying the error's message, never a crash of the command.
 */
import type { Check, CheckResult, DoctorContext } from './types.ts';
import { fail, skip } from './types.ts';

export async function runChecks(checks: readonly Check[], context: DoctorContext): Promise<CheckResult[]> {
  const passed = new Map<string, boolean>();
  const results: CheckResult[] = [];
  for (const check of checks) {
    const unmet = (check.needs ?? []).filter((id) => passed.get(id) !== true);
    let lines: CheckResult[];
    if (unmet.length > 0) {
      const reason = unmet.map((id) => checks.find((c) => c.id === id)?.name ?? id).join(', ');
      lines = [skip(check.name, `not checked: ${reason} did not pass`)];
    } else {
      try {
        lines = await check.run(context);
      } catch (error) {
        lines = [fail(check.name, (error as Error).message)];
      }
    }
    passed.set(
      check.id,
      lines.every((line) => line.status === 'ok'),
    );
    results.push(...lines);
  }
  return results;
}
