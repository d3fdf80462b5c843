/**
 * Notify: record the outcome's metrics, tell the target's notifiers how the run went, then the
 * watching systems (events, Sentry). A notifier that fails is logged, counted and reported in the result, never
 * thrown: a good backup must not turn into a failed run because a mail could not be sent, and the
 * failure branch must reach its cleanup.
 */
import type { Config } from '../config/load.ts';
import type { NotifyInput, NotifyResult } from '../contracts.ts';
import { describeError } from '../errors.ts';
import { failureMessage, successMessage } from '../notifiers/message.ts';
import { notifierFor } from '../notifiers/registry.ts';
import { recordOutcomeMetrics, reportOutcome } from '../observability/outcome.ts';
import type { Runtime } from '../runtime.ts';

export async function notify(input: NotifyInput, runtime: Runtime): Promise<NotifyResult> {
  const { run, outcome } = input;
  const targetName = run.plan?.target ?? run.target;
  const log = runtime.log.child({
    runId: run.plan?.runId,
    target: targetName,
    state: outcome === 'success' ? 'NotifySuccess' : 'NotifyFailure',
  });
  const message = outcome === 'success' ? successMessage(run, input.execution) : failureMessage(run, input.execution);
  const result: NotifyResult = { sent: [], failed: [] };

  // The outcome's metric goes out before any notifier is tried: a mail server that never answers
  // may keep this function until it is killed, and must not take BackupSucceeded with it (the
  // "no recent backup" alarm would fire for a good backup).
  recordOutcomeMetrics(input, runtime);
  runtime.metrics.flush();

  for (const name of notifierNames(runtime.config, targetName)) {
    try {
      const { notifier, settings } = notifierFor(runtime.config, name, runtime.secrets);
      if (!settings.on.includes(outcome)) continue;
      const id = await notifier.send(message);
      result.sent.push({ notifier: name, id });
      log.info('notified', { notifier: name, outcome });
    } catch (error) {
      const { name: errorName, message: errorMessage } = describeError(error);
      result.failed.push({ notifier: name, error: `${errorName}: ${errorMessage}` });
      log.error('notification failed', { notifier: name, outcome, error: errorName, cause: errorMessage });
    }
  }
  await reportOutcome(input, result, runtime);
  return result;
}

/**
 * The target's notifiers. When the target itself is unknown (a typo in a schedule's input),
 * the failure still goes to the default notifiers, or to every notifier when there are none.
 */
function notifierNames(config: Config, targetName: string | undefined): string[] {
  const target =
    targetName !== undefined && Object.hasOwn(config.targets, targetName) ? config.targets[targetName] : undefined;
  if (target) return target.notify;
  return config.defaultNotify ?? Object.keys(config.notifications);
}
