/**
 * Structured logs: one JSON object per line, with the run's fields (runId, target, state) on
 * every line of a step. Every message and field passes through redaction before it is written
 * anywhere, so a secret that reaches a log call still never reaches a log.
 *
 * On Lambda the lines are written by the Powertools logger (CloudWatch Logs, Lambda context);
 * locally by a plain JSON writer. Either can also feed sinks (a SEQ server).
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { redact, redactDeep } from '../redact.ts';

export type LogFields = Record<string, unknown>;
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
}

export interface LogRecord {
  timestamp: string;
  level: Level;
  message: string;
  fields: LogFields;
}

/** Somewhere else log records go (SEQ); flushed at the end of each step. */
export interface LogSink {
  write(record: LogRecord): void;
  flush(): Promise<void>;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function levelFromEnvironment(): Level {
  const value = (process.env.STEPVAULT_LOG_LEVEL ?? 'info').toLowerCase();
  return value in ORDER ? (value as Level) : 'info';
}

type Emit = (level: Level, message: string, fields: LogFields) => void;

function buildLogger(emit: Emit, base: LogFields): Logger {
  const at = (level: Level) => (message: string, fields?: LogFields) =>
    emit(level, redact(message), redactDeep({ ...base, ...fields }));
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => buildLogger(emit, { ...base, ...fields }),
  };
}

/** JSON lines to `write` (stdout by default): local runs and tests. */
export function createJsonLogger(
  options: { level?: Level; write?: (line: string) => void; sinks?: LogSink[] } = {},
): Logger {
  const threshold = ORDER[options.level ?? levelFromEnvironment()];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  return buildLogger((level, message, fields) => {
    const timestamp = new Date().toISOString();
    for (const sink of options.sinks ?? []) sink.write({ timestamp, level, message, fields });
    if (ORDER[level] < threshold) return;
    write(JSON.stringify({ timestamp, level, message, service: 'stepvault', ...fields }));
  }, {});
}

/**
 * The process's Powertools logger: Lambda's structured logs. The handlers' injectLambdaContext
 * middleware gives it the invocation's context (request id, function name, cold start).
 */
export const lambdaLogger = new PowertoolsLogger({
  serviceName: 'stepvault',
  logLevel: levelFromEnvironment().toUpperCase() as 'INFO',
});

/** Our logger (fields, redaction, sinks) writing through `lambdaLogger`. */
export function createLambdaLogger(options: { sinks?: LogSink[] } = {}): Logger {
  return buildLogger((level, message, fields) => {
    for (const sink of options.sinks ?? []) sink.write({ timestamp: new Date().toISOString(), level, message, fields });
    lambdaLogger[level](message, fields);
  }, {});
}
