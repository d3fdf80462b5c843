/**
 * What a step needs from the world: the config, secrets, a clock, a log and a progress sink.
 * Lambda and the local runner each build one; the steps never ask which they got.
 */
import path from 'node:path';
import { loadConfig, type Config } from './config/load.ts';
import { SecretResolver } from './config/secrets.ts';
import { createJsonLogger, type Logger } from './log.ts';

export interface ProgressEvent {
  state: string;
  bytes: number;
}

export interface Runtime {
  config: Config;
  secrets: SecretResolver;
  now: () => Date;
  log: Logger;
  progress: (event: ProgressEvent) => void;
}

let lambdaRuntime: Runtime | undefined;

/**
 * The runtime of a Lambda function, created once per container: the config file shipped with
 * the function ($STEPVAULT_CONFIG, else stepvault.config.yml beside the code).
 */
export function runtimeFromEnvironment(): Runtime {
  if (!lambdaRuntime) {
    const file = process.env.STEPVAULT_CONFIG ?? path.join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'stepvault.config.yml');
    const log = createJsonLogger();
    lambdaRuntime = {
      config: loadConfig(file),
      secrets: new SecretResolver(),
      now: () => new Date(),
      log,
      progress: throttledProgressLog(log),
    };
  }
  return lambdaRuntime;
}

/** In Lambda, progress goes to the log, at most every 10 seconds per state. */
function throttledProgressLog(log: Logger): (event: ProgressEvent) => void {
  const last = new Map<string, number>();
  return (event) => {
    const now = Date.now();
    if (now - (last.get(event.state) ?? 0) < 10_000) return;
    last.set(event.state, now);
    log.info('progress', { state: event.state, bytes: event.bytes });
  };
}
