/**
 * What a step needs from the world: the config, secrets, a clock, a log, metrics and a progress
 * sink. Lambda and the local runner each build one with `createRuntime`; the steps never ask
 * which they got. `flush` runs at the end of every step: log sinks emptied, and the metrics a
 * runtime keeps itself sent.
 */
import { AWS_SECRET_RESOLVERS } from './config/aws-secrets.ts';
import { configFromEnvironment } from './config/environment.ts';
import type { Config } from './config/load.ts';
import { SecretResolver } from './config/secrets.ts';
import { createLambdaLogger, type Logger, type LogSink } from './observability/log.ts';
import { createMetrics, type MetricsSink } from './observability/metrics.ts';
import { progressFields, type ProgressEvent } from './observability/progress.ts';
import { SeqSink } from './observability/seq.ts';

export type { ProgressEvent };

export interface Runtime {
  config: Config;
  secrets: SecretResolver;
  now: () => Date;
  log: Logger;
  metrics: MetricsSink;
  progress: (event: ProgressEvent) => void;
  flush(): Promise<void>;
}

export interface RuntimeOptions {
  secrets?: SecretResolver;
  now?: () => Date;
  /** Builds the logger, given the sinks the config asks for. */
  logger: (sinks: LogSink[]) => Logger;
  /** Where EMF documents go; by default Powertools prints them (Lambda). */
  emitMetrics?: (document: Record<string, unknown>) => void;
  progress?: (event: ProgressEvent) => void;
}

export function createRuntime(config: Config, options: RuntimeOptions): Runtime {
  // The log sinks outlive an invocation (Lambda keeps the runtime), so they resolve their keys
  // through the runtime's resolver of the moment, which each invocation replaces.
  const sinks = logSinks(config, () => runtime.secrets);
  const metrics = createMetrics(options.emitMetrics);
  const runtime: Runtime = {
    config,
    secrets: options.secrets ?? new SecretResolver(),
    now: options.now ?? (() => new Date()),
    log: options.logger(sinks),
    metrics,
    progress: options.progress ?? (() => undefined),
    async flush() {
      // Metrics kept for `emitMetrics` go out here; those in the process's Powertools instance
      // (Lambda) are published by the handlers' logMetrics middleware.
      if (options.emitMetrics) metrics.flush();
      await Promise.all(sinks.map((sink) => sink.flush()));
    },
  };
  return runtime;
}

function logSinks(config: Config, secrets: () => SecretResolver): LogSink[] {
  const seq = config.observability?.seq;
  if (!seq) return [];
  return [
    new SeqSink(seq.url, async () =>
      seq.apiKey ? secrets().resolve(seq.apiKey, 'observability.seq.apiKey') : undefined,
    ),
  ];
}

let lambdaRuntime: Runtime | undefined;

/**
 * The runtime of a Lambda function: config, logger and metrics made once per container (the
 * config file shipped with the function, $STEPVAULT_CONFIG (src/config/environment.ts); staging on the EFS mount,
 * $STEPVAULT_STAGING); secrets resolved afresh in every invocation.
 */
export function runtimeFromEnvironment(): Runtime {
  if (!lambdaRuntime) {
    const config = configFromEnvironment(process.env, process.env.LAMBDA_TASK_ROOT ?? process.cwd());
    let logger: Logger | undefined;
    lambdaRuntime = createRuntime(withStaging(config, process.env.STEPVAULT_STAGING), {
      secrets: new SecretResolver(AWS_SECRET_RESOLVERS),
      logger: (sinks) => (logger = createLambdaLogger({ sinks })),
      progress: throttledProgressLog(() => logger),
    });
  }
  // A rotated secret is seen by the next invocation, the log sinks' keys included.
  lambdaRuntime.secrets = new SecretResolver(AWS_SECRET_RESOLVERS);
  return { ...lambdaRuntime };
}

/** On Lambda every target stages on the shared mount, whatever the file says for local runs. */
export function withStaging(config: Config, staging: string | undefined): Config {
  if (!staging) return config;
  const targets = Object.fromEntries(Object.entries(config.targets).map(([name, t]) => [name, { ...t, staging }]));
  return { ...config, targets };
}

/** In Lambda, progress goes to the log, at most every 10 seconds per state, as what its producer said. */
export function throttledProgressLog(log: () => Logger | undefined): (event: ProgressEvent) => void {
  const last = new Map<string, number>();
  return (event) => {
    const now = Date.now();
    const key = `${event.state}\u0000${event.item ?? ''}`;
    if (now - (last.get(key) ?? 0) < 10_000) return;
    last.set(key, now);
    log()?.info('progress', {
      state: event.state,
      ...(event.item !== undefined && { item: event.item }),
      ...progressFields(event),
    });
  };
}
