/**
 * Metrics in CloudWatch embedded metric format (EMF), through Powertools: namespace `stepvault`,
 * dimensions `service` and `target`. On Lambda the metrics go into the process's Powertools
 * instance, which the handlers' logMetrics middleware publishes (a log line that CloudWatch turns
 * into metrics) after every invocation; locally each document is handed to `emit` (and shown
 * with --verbose).
 *
 * BackupSucceeded is also the signal for "no successful backup for N hours": an alarm on its Sum
 * over N hours below 1, with missing data treated as breaching.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { lambdaLogger } from './log.ts';

export const METRIC_NAMESPACE = 'stepvault';

export type MetricName =
  | 'BackupSucceeded'
  | 'BackupFailed'
  | 'DurationSeconds'
  | 'SizeBytes'
  | 'DestinationsFailed'
  | 'NotificationFailed'
  | 'EventPublishFailed'
  | 'RestoreDrillSucceeded'
  | 'RestoreDrillFailed'
  | 'SizeAnomaly';

const UNITS: Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  BackupSucceeded: MetricUnit.Count,
  BackupFailed: MetricUnit.Count,
  DurationSeconds: MetricUnit.Seconds,
  SizeBytes: MetricUnit.Bytes,
  DestinationsFailed: MetricUnit.Count,
  NotificationFailed: MetricUnit.Count,
  EventPublishFailed: MetricUnit.Count,
  RestoreDrillSucceeded: MetricUnit.Count,
  RestoreDrillFailed: MetricUnit.Count,
  SizeAnomaly: MetricUnit.Count,
};

export interface MetricsSink {
  add(target: string, name: MetricName, value: number): void;
  /** Sends what was added now (one EMF document per target). */
  flush(): void;
}

const EMPTY_PUBLISH_NOTICE = 'No application metrics to publish';

function powertoolsMetrics(): Metrics {
  return new Metrics({
    namespace: METRIC_NAMESPACE,
    serviceName: 'stepvault',
    // Powertools' own notices go out as our Lambda log lines. Most steps record no metric, and
    // logMetrics publishes after every one of them: the notice that a publish was empty would be
    // a WARN line on nearly every invocation, so it is dropped.
    logger: {
      debug: () => undefined,
      info: (message: string) => lambdaLogger.info(message),
      warn: (message: string) => {
        if (!message.startsWith(EMPTY_PUBLISH_NOTICE)) lambdaLogger.warn(message);
      },
      error: (message: string) => lambdaLogger.error(message),
    },
  });
}

/** The process's Powertools metrics: what Lambda's steps record, published by logMetrics. */
export const lambdaMetrics = powertoolsMetrics();

/** The target of the metrics each instance holds now (the process's instance is shared by runtimes). */
const currentTarget = new WeakMap<Metrics, string>();

/**
 * Without `emit`, metrics go into `lambdaMetrics` and flush publishes them to stdout (Lambda,
 * `stepvault serve`); with it, into an instance of their own whose documents go to `emit`.
 */
export function createMetrics(emit?: (document: Record<string, unknown>) => void): MetricsSink {
  const metrics = emit ? powertoolsMetrics() : lambdaMetrics;
  const flush = () => {
    if (!metrics.hasStoredMetrics()) return;
    if (emit) {
      emit(metrics.serializeMetrics() as unknown as Record<string, unknown>);
      metrics.clearMetrics();
      metrics.clearDimensions();
    } else {
      metrics.publishStoredMetrics(); // clears metrics and dimensions too
    }
  };
  return {
    add(target, name, value) {
      // One document per target: a metric of another target first sends the ones before it.
      if (metrics.hasStoredMetrics() && currentTarget.get(metrics) !== target) flush();
      // Whatever sent the stored metrics (this flush, or logMetrics) cleared their dimension too.
      if (!metrics.hasStoredMetrics()) {
        metrics.addDimension('target', target);
        currentTarget.set(metrics, target);
      }
      metrics.addMetric(name, UNITS[name], value);
    },
    flush,
  };
}
