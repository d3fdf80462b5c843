/**
 * Metrics in CloudWatch embedded metric format (EMF), through Powertools: namespace `stepvault`,
 * dimensions `service` and `target`. On Lambda the EMF document is a log line that CloudWatch
 * turns into metrics; locally it is kept (and shown with --verbose).
 *
 * BackupSucceeded is also the signal for "no successful backup for N hours": an alarm on its Sum
 * over N hours below 1, with missing data treated as breaching.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRIC_NAMESPACE = 'stepvault';

export type MetricName = 'BackupSucceeded' | 'BackupFailed' | 'DurationSeconds' | 'SizeBytes' | 'DestinationsFailed' | 'NotificationFailed' | 'EventPublishFailed' | 'RestoreDrillSucceeded' | 'RestoreDrillFailed';

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
};

export interface MetricsSink {
  add(target: string, name: MetricName, value: number): void;
  /** Emits what was added (one EMF document per target). */
  flush(): void;
}

/** `emit` receives each EMF document; by default Powertools prints it (Lambda). */
export function createMetrics(emit?: (document: Record<string, unknown>) => void): MetricsSink {
  const byTarget = new Map<string, Metrics>();
  return {
    add(target, name, value) {
      let metrics = byTarget.get(target);
      if (!metrics) {
        metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'stepvault', defaultDimensions: { target } });
        byTarget.set(target, metrics);
      }
      metrics.addMetric(name, UNITS[name], value);
    },
    flush() {
      for (const metrics of byTarget.values()) {
        if (emit) {
          if (metrics.hasStoredMetrics()) emit(metrics.serializeMetrics() as unknown as Record<string, unknown>);
          metrics.clearMetrics();
        } else {
          metrics.publishStoredMetrics();
        }
      }
      byTarget.clear();
    },
  };
}
