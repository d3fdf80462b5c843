/**
 * Doctor, inside the deployment: the checks of `stepvault doctor` for one target, made by a
 * function placed where the dumps run, answered as the execution's output. A failed check is a
 * line of the report, not a failed execution: the report is what `stepvault doctor --stage`
 * prints. Nothing is dumped, uploaded, pruned or sent.
 */
import { getTarget } from '../config/load.ts';
import type { DoctorInput, DoctorReport } from '../contracts.ts';
import { DEPLOYMENT_CHECKS } from '../doctor/in-deployment.ts';
import { doctorReport } from '../doctor/report.ts';
import { runChecks } from '../doctor/run-checks.ts';
import { ConfigError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

/** How long a network probe may wait: as on a laptop (src/commands/doctor.ts). */
const PROBE_TIMEOUT_MS = 5_000;

export async function doctor(input: DoctorInput, runtime: Runtime): Promise<DoctorReport> {
  const targetName = input.request?.target;
  if (typeof targetName !== 'string' || targetName === '') {
    throw new ConfigError('the execution input must name a target, e.g. {"target": "orders", "doctor": true}');
  }
  const target = getTarget(runtime.config, targetName);
  const results = await runChecks(DEPLOYMENT_CHECKS, {
    config: runtime.config,
    target,
    secrets: runtime.secrets,
    facts: {},
    timeoutMs: PROBE_TIMEOUT_MS,
    now: runtime.now,
  });
  const report = doctorReport(target.name, results);
  runtime.log.info('doctor', {
    target: target.name,
    ok: report.ok,
    failed: results.filter((r) => r.status === 'fail').map((r) => r.name),
  });
  return report;
}
