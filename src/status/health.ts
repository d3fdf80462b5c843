/** `GET /health`: one word for uptime monitors, 200 only when every target is ok. */
import type { StatusReport, TargetState } from './model.ts';

export interface HealthBody {
  status: TargetState;
  targets: Record<string, { status: TargetState; reason: string; lastSuccess: string | null }>;
}

export function healthOf(report: StatusReport): { code: 200 | 503; body: HealthBody } {
  const states = report.targets.map((t) => t.state);
  const status: TargetState = states.includes('failed') ? 'failed' : states.includes('late') ? 'late' : 'ok';
  const targets = Object.fromEntries(
    report.targets.map((t) => [t.name, { status: t.state, reason: t.reason, lastSuccess: t.lastSuccess?.at ?? null }]),
  );
  return { code: status === 'ok' ? 200 : 503, body: { status, targets } };
}
