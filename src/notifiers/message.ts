/**
 * The words of the success and failure messages. They say what an operator needs without
 * opening anything else: which database, what happened, where the backup is or what failed.
 */
import type { ExecutionInfo, Failure, RunState } from '../contracts.ts';
import { formatBytes, formatSeconds } from '../format.ts';
import type { Message } from './types.ts';

export function successMessage(run: RunState, execution: ExecutionInfo): Message {
  const { plan, dump } = run;
  const target = plan?.target ?? run.target ?? 'unknown';
  const size = dump ? formatBytes(dump.size) : 'unknown size';
  const outcomes = run.upload ?? [];
  const skipped = outcomes.filter((o) => o.status === 'failed');
  const lines = [
    `Backup of ${target} succeeded${skipped.length ? `, but ${skipped.length} optional destination${skipped.length > 1 ? 's' : ''} failed` : ''}.`,
    '',
    `Target:     ${target}`,
    `Engine:     ${plan?.engine ?? '?'}`,
    `Database:   ${plan?.database ?? '?'}`,
    `Started:    ${plan?.startedAt ?? execution.startTime}`,
    `Size:       ${size}${dump ? ` (${dump.size} bytes)` : ''}`,
    `Dump time:  ${dump ? formatSeconds(dump.durationSeconds) : '?'}`,
    `SHA-256:    ${dump?.sha256 ?? '?'}`,
    `Tool:       ${dump ? `${dump.tool.name} ${dump.tool.version}` : '?'}, server ${dump?.serverVersion ?? '?'}`,
    '',
    'Stored in:',
    ...outcomes.map((o) =>
      o.status === 'stored' ? `  ${o.destination}: ${o.location}` : `  ${o.destination}: FAILED (optional) — ${o.error}: ${readableCause(o.cause)}`,
    ),
    '',
    ...retentionLines(run),
    '',
    `Run:        ${plan?.runId ?? '?'}`,
    `Execution:  ${execution.id}`,
  ];
  const subject = skipped.length
    ? `[stepvault] ${target}: backup succeeded (${size}); ${skipped.map((o) => o.destination).join(', ')} FAILED`
    : `[stepvault] ${target}: backup succeeded (${size})`;
  return { outcome: 'success', subject, text: lines.join('\n') + '\n' };
}

function retentionLines(run: RunState): string[] {
  if (run.pruneError) return [`Retention:  NOT applied — ${run.pruneError.Error}: ${readableCause(run.pruneError.Cause)}`];
  const pruned = run.prune?.destinations ?? [];
  if (pruned.length === 0) return ['Retention:  nothing to apply'];
  return [
    'Retention:',
    ...pruned.flatMap((p) => [
      `  ${p.destination}: kept ${p.kept}, deleted ${p.deleted.length}`,
      ...p.deleted.map((key) => `    deleted ${key}`),
    ]),
  ];
}

export function failureMessage(run: RunState, execution: ExecutionInfo): Message {
  const failure: Failure = run.failure ?? { state: 'unknown', error: 'Unknown', cause: 'no failure was recorded' };
  const target = run.plan?.target ?? run.target ?? 'unknown';
  const cause = readableCause(failure.cause);
  const lines = [
    `Backup of ${target} FAILED in state ${failure.state}.`,
    '',
    `Target:     ${target}`,
    ...(run.plan ? [`Engine:     ${run.plan.engine}`, `Database:   ${run.plan.database}`] : []),
    `Failed in:  ${failure.state}`,
    `Error:      ${failure.error}`,
    `Cause:      ${cause}`,
    '',
    'This run did not complete a backup; earlier backups are untouched.',
    '',
    `Run:        ${run.plan?.runId ?? '(not planned)'}`,
    `Execution:  ${execution.id}`,
    `Started:    ${execution.startTime}`,
  ];
  return {
    outcome: 'failure',
    subject: `[stepvault] ${target}: backup FAILED in ${failure.state} (${failure.error})`,
    text: lines.join('\n') + '\n',
  };
}

const MAX_CAUSE = 2000;

/**
 * Step Functions hands a Lambda error over as JSON ({"errorType","errorMessage","trace"}); a
 * person wants only the message. Anything else is shown as it is, trimmed.
 */
export function readableCause(cause: string): string {
  let text = cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') text = parsed.errorMessage;
  } catch {
    // Not JSON: a plain cause.
  }
  return text.length > MAX_CAUSE ? `${text.slice(0, MAX_CAUSE)}… (trimmed)` : text;
}
