/**
 * Tells the systems that watch backups how a run ended: metrics (always), an EventBridge event
 * and a Sentry report (when configured). Nothing here may fail the run: each failure is logged
 * and counted.
 */
import type { NotifyInput, NotifyResult } from '../contracts.ts';
import { describeError } from '../errors.ts';
import { readableCause } from '../text/cause.ts';
import type { Runtime } from '../runtime.ts';
import { sendToSentry } from './sentry.ts';

/** package.json's version, written out so that bundles need not carry package.json (a test holds the two together). */
export const STEPVAULT_VERSION = '0.1.0';

/**
 * The outcome's metrics (BackupSucceeded or BackupFailed and what goes with them); nothing here waits on the network.
 */
export function recordOutcomeMetrics(input: NotifyInput, runtime: Runtime): void {
  const { run, outcome, execution } = input;
  const target = run.plan?.target ?? run.target ?? 'unknown';
  if (outcome === 'success') {
    runtime.metrics.add(target, 'BackupSucceeded', 1);
    const started = Date.parse(run.plan?.startedAt ?? execution.startTime);
    if (!Number.isNaN(started))
      runtime.metrics.add(target, 'DurationSeconds', Math.max(0, (runtime.now().getTime() - started) / 1000));
    if (run.dump?.size !== undefined) runtime.metrics.add(target, 'SizeBytes', run.dump.size);
    const skipped = (run.upload ?? []).filter((o) => o.status === 'failed').length;
    if (skipped > 0) runtime.metrics.add(target, 'DestinationsFailed', skipped);
    if (run.verify?.drill) runtime.metrics.add(target, 'RestoreDrillSucceeded', 1);
    // 0 or 1 on every success of a target that asks: the alarm sees data, and a 1 stands out on the dashboard.
    if (Object.hasOwn(runtime.config.targets, target) && runtime.config.targets[target]!.alerts?.sizeChangePercent)
      runtime.metrics.add(target, 'SizeAnomaly', run.verify?.sizeAnomaly ? 1 : 0);
  } else {
    runtime.metrics.add(target, 'BackupFailed', 1);
    const drilled = Object.hasOwn(runtime.config.targets, target) && runtime.config.targets[target]!.verify?.drill;
    if (drilled && run.failure?.state === 'Verify') runtime.metrics.add(target, 'RestoreDrillFailed', 1);
  }
}

/** After the notifiers: how many failed, then the EventBridge event and the Sentry report. */
export async function reportOutcome(input: NotifyInput, notified: NotifyResult, runtime: Runtime): Promise<void> {
  const { run, outcome, execution } = input;
  const target = run.plan?.target ?? run.target ?? 'unknown';
  const log = runtime.log.child({
    runId: run.plan?.runId,
    target,
    state: outcome === 'success' ? 'NotifySuccess' : 'NotifyFailure',
  });
  if (notified.failed.length > 0) runtime.metrics.add(target, 'NotificationFailed', notified.failed.length);

  const events = runtime.config.events;
  if (events) {
    try {
      // Loaded only when an event bus is configured: the EventBridge client is not small.
      const { publishOutcomeEvent } = await import('./events.ts');
      const id = await publishOutcomeEvent(events, outcome, run, execution);
      log.info('event published', { bus: events.bus, eventId: id });
    } catch (error) {
      runtime.metrics.add(target, 'EventPublishFailed', 1);
      log.error('event could not be published', { bus: events.bus, error: describeError(error).message });
    }
  }

  const sentry = runtime.config.observability?.sentry;
  if (sentry && outcome === 'failure') {
    try {
      const dsn = sentry.dsn.includes('://')
        ? sentry.dsn
        : await runtime.secrets.resolve(sentry.dsn, 'observability.sentry.dsn');
      const failure = run.failure;
      const id = await sendToSentry(
        dsn,
        {
          message: `Backup of ${target} failed in ${failure?.state ?? '?'}`,
          errorType: failure?.error ?? 'Unknown',
          errorValue: failure ? readableCause(failure.cause) : 'no failure was recorded',
          tags: { target, state: failure?.state ?? 'unknown', engine: run.plan?.engine ?? 'unknown' },
          extra: { runId: run.plan?.runId, executionArn: execution.id, database: run.plan?.database },
          ...(sentry.environment && { environment: sentry.environment }),
        },
        STEPVAULT_VERSION,
      );
      log.info('failure reported to Sentry', { eventId: id });
    } catch (error) {
      log.error('Sentry report failed', { error: describeError(error).message });
    }
  }
}
