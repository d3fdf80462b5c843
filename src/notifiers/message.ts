/**
 * What the success and failure messages say. They tell an operator what they need without
 * opening anything else: which database, what happened, where the backup is or what failed and
 * why, and (on AWS) a link to the execution.
 */
import { describeSizeAnomaly } from '../backups/size-anomaly.ts';
import type { ExecutionInfo, Failure, RunState } from '../contracts.ts';
import { formatBytes, formatSeconds } from '../text/format.ts';
import { readableCause } from '../text/cause.ts';
import { render } from './render.ts';
import type { Message, MessageModel } from './types.ts';

export function successMessage(run: RunState, execution: ExecutionInfo): Message {
  return render(successModel(run, execution));
}

export function failureMessage(run: RunState, execution: ExecutionInfo): Message {
  return render(failureModel(run, execution));
}

export function successModel(run: RunState, execution: ExecutionInfo): MessageModel {
  const { plan } = run;
  // A run that succeeded has its dump finished; a server still writing one has no size yet.
  const dump = run.dump?.kind === 'server-writing' ? undefined : run.dump;
  const target = plan?.target ?? run.target ?? 'unknown';
  const size = dump ? formatBytes(dump.size) : 'unknown size';
  const outcomes = run.upload ?? [];
  const skipped = outcomes.filter((o) => o.status === 'failed');
  const link = consoleLink(execution.id);
  const anomaly = run.verify?.sizeAnomaly;
  // Said in the subject, where a mail filter or a glance at the inbox sees it: every step succeeded.
  const anomalyWords = anomaly
    ? `; SIZE ANOMALY: ${Number.isFinite(anomaly.changePercent) ? `${anomaly.changePercent}%` : 'far'} ${anomaly.direction} than the previous`
    : '';
  return {
    outcome: 'success',
    subject: skipped.length
      ? `[stepvault] ${target}: backup succeeded (${size}); ${skipped.map((o) => o.destination).join(', ')} FAILED${anomalyWords}`
      : `[stepvault] ${target}: backup succeeded (${size})${anomalyWords}`,
    headline: `Backup of ${target} succeeded${skipped.length ? `, but ${skipped.length} optional destination${skipped.length > 1 ? 's' : ''} failed` : ''}${anomaly ? `, but it is ${anomaly.direction} than expected: check that the right database was dumped` : ''}.`,
    facts: [
      ['Target', target],
      ['Engine', plan?.engine ?? '?'],
      ['Database', plan?.database ?? '?'],
      ['Started', plan?.startedAt ?? execution.startTime],
      ...runnerFact(run),
      ['Size', dump ? `${size} (${dump.size} bytes)` : '?'],
      [
        'Duration',
        dump
          ? `dump ${formatSeconds(dump.durationSeconds)}, whole run ${formatSeconds(runSeconds(run, execution))}`
          : '?',
      ],
      ['SHA-256', dump?.sha256 ?? '?'],
      ['Tool', dump ? `${dump.tool.name} ${dump.tool.version}, server ${dump.serverVersion}` : '?'],
    ],
    sections: [
      {
        title: 'Stored in',
        code: true,
        lines: storedLines(run),
      },
      ...(anomaly ? [{ title: 'Size anomaly', lines: [describeSizeAnomaly(anomaly, formatBytes)] }] : []),
      { title: 'Verified', lines: verifyLines(run) },
      { title: 'Retention', lines: retentionLines(run), code: true },
    ],
    ...(link && { link }),
    footer: [`Run ${plan?.runId ?? '?'}`, `Execution ${execution.id}`],
  };
}

export function failureModel(run: RunState, execution: ExecutionInfo): MessageModel {
  const failure: Failure = run.failure ?? { state: 'unknown', error: 'Unknown', cause: 'no failure was recorded' };
  const target = run.plan?.target ?? run.target ?? 'unknown';
  const link = consoleLink(execution.id);
  // A run can fail after its dump was stored (Verify, Cleanup): then the mail must say where it
  // is, and must not say that no backup was made.
  const stored = (run.upload ?? []).filter((o) => o.status === 'stored');
  return {
    outcome: 'failure',
    subject: stored.length
      ? `[stepvault] ${target}: backup stored, but FAILED in ${failure.state} (${failure.error})`
      : `[stepvault] ${target}: backup FAILED in ${failure.state} (${failure.error})`,
    headline: stored.length
      ? `Backup of ${target} was stored, but the run FAILED in state ${failure.state}.`
      : `Backup of ${target} FAILED in state ${failure.state}.`,
    facts: [
      ['Target', target],
      ...(run.plan
        ? ([
            ['Engine', run.plan.engine],
            ['Database', run.plan.database],
          ] as [string, string][])
        : []),
      ...runnerFact(run),
      ['Failed in', failure.state],
      ['Error', failure.error],
      ['Cause', readableCause(failure.cause)],
      ['Started', execution.startTime],
    ],
    sections: [
      ...(run.upload ? [{ title: 'Stored in', code: true, lines: storedLines(run) }] : []),
      ...(run.verify ? [{ title: 'Verified', lines: verifyLines(run) }] : []),
      ...(run.prune || run.pruneError ? [{ title: 'Retention', lines: retentionLines(run), code: true }] : []),
      { title: 'What this means', lines: failureMeaning(run, failure, stored.length > 0) },
    ],
    ...(link && { link }),
    footer: [`Run ${run.plan?.runId ?? '(not planned)'}`, `Execution ${execution.id}`],
  };
}

/** What a failure leaves behind, by how far the run got. The failure mail goes out before the staging cleanup runs. */
function failureMeaning(run: RunState, failure: Failure, stored: boolean): string[] {
  const staging =
    run.plan && run.plan.runner !== 'efs'
      ? 'Nothing was staged; any upload the run left open is aborted next.'
      : 'Staging is removed next.';
  if (failure.state === 'Verify') {
    const check = /drill/i.test(failure.cause)
      ? 'the restore drill'
      : 'the check of what landed (size, manifest, checksum)';
    return [
      `This run's dump is stored (above), but ${check} failed: do not count on it as a good backup until that is resolved.`,
      'Retention was not applied: no older backup was deleted.',
      staging,
    ];
  }
  if (failure.state === 'Cleanup') {
    return [
      `The backup is stored${run.verify ? ' and verified' : ''}; only removing its staging files failed. That is tried once more next; what remains takes space in staging.`,
    ];
  }
  if (stored) return ["This run's dump is stored (above), but the run did not finish.", staging];
  if (failure.state === 'Upload') {
    return [
      "No backup was completed: a required destination failed. Destinations that finished first may hold this run's files (`stepvault list` shows them).",
      'Earlier backups are untouched.',
      staging,
    ];
  }
  return ['This run did not complete a backup; earlier backups are untouched.', staging];
}

/** Where the dump ran and why (Plan's words), once the run was planned. */
function runnerFact(run: RunState): [string, string][] {
  return run.plan ? [['Runner', `${run.plan.runner} (${run.plan.runnerReason})`]] : [];
}

function storedLines(run: RunState): string[] {
  return (run.upload ?? []).map((o) =>
    o.status === 'stored'
      ? `${o.destination}: ${o.location}`
      : `${o.destination}: FAILED (optional) — ${o.error}: ${readableCause(o.cause)}`,
  );
}

function verifyLines(run: RunState): string[] {
  const verified = run.verify;
  if (!verified) return ['not verified'];
  const lines = verified.destinations.map(
    (d) =>
      `${d.destination}: ${d.checked === 'download' ? 'downloaded again, SHA-256 matches' : 'size and manifest match the dump'}`,
  );
  if (verified.drill) {
    const { drill } = verified;
    lines.push(
      `restore drill passed: ${drill.tables} tables, ${drill.rows} rows restored into ${drill.database} and compared, in ${formatSeconds(drill.seconds)}`,
    );
  }
  if (verified.drillSkipped) lines.push(`restore drill skipped: ${verified.drillSkipped}`);
  return lines;
}

function retentionLines(run: RunState): string[] {
  if (run.pruneError) return [`NOT applied — ${run.pruneError.Error}: ${readableCause(run.pruneError.Cause)}`];
  const pruned = run.prune?.destinations ?? [];
  if (pruned.length === 0) return ['nothing to apply'];
  return pruned.flatMap((p) => [
    `${p.destination}: kept ${p.kept}, deleted ${p.deleted.length}`,
    ...p.deleted.map((key) => `  deleted ${key}`),
  ]);
}

function runSeconds(run: RunState, execution: ExecutionInfo): number {
  const started = Date.parse(run.plan?.startedAt ?? execution.startTime);
  const finished = Date.parse(run.dump?.finishedAt ?? '') || started;
  const stored = Math.max(0, ...(run.upload ?? []).map((o) => (o.status === 'stored' ? o.seconds : 0)));
  return Math.max(0, (finished - started) / 1000 + stored);
}

/** The execution in the Step Functions console; local runs have none. */
export function consoleLink(executionArn: string): { label: string; url: string } | undefined {
  const match = /^arn:aws[\w-]*:states:([a-z0-9-]+):(\d{12}):execution:/.exec(executionArn);
  if (!match || match[2] === '000000000000') return undefined;
  const region = match[1]!;
  return {
    label: 'Open the execution in the Step Functions console',
    url: `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`,
  };
}
