#!/usr/bin/env node
/**
 * The stepvault command line. `run` executes the backup workflow on this machine with the same
 * state machine and handlers that run in AWS.
 *
 * Exit codes: 0 the workflow succeeded; 1 it ended in its failure branch; 2 the command could
 * not start (bad arguments, bad config).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.ts';
import { EMBEDDED_TARGET } from './config/embedded.ts';
import type { RunState } from './contracts.ts';
import { StepvaultError } from './errors.ts';
import { formatBytes } from './format.ts';
import { ConsoleReporter } from './local/reporter.ts';
import { runWorkflow } from './local/runner.ts';
import { createJsonLogger } from './observability/log.ts';
import { readableCause } from './notifiers/message.ts';
import { createRuntime } from './runtime.ts';

const USAGE = `Usage: stepvault <command> [options]

Commands:
  run     --config FILE --target NAME   run the backup workflow locally (same state machine, same handlers)

Options for run:
  --config FILE         the config file (default: ./stepvault.config.yml, else the embedded sample)
  --target NAME         the target to back up (default: the only target, or "sample" for the embedded config)
  --retry-delay-ms N    wait N ms between retries instead of the state machine's intervals
  --verbose             also print the steps' JSON log lines (to stderr)
  -h, --help            this help
`;

export async function main(argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help' || command === 'help') {
    out.write(USAGE);
    return command ? 0 : 2;
  }
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, out, err);
      default:
        err.write(`stepvault: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof StepvaultError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`stepvault: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

async function runCommand(args: string[], out: NodeJS.WritableStream & { isTTY?: boolean }, err: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string' },
      target: { type: 'string' },
      'retry-delay-ms': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const config = loadConfig(values.config);
  const targets = Object.keys(config.targets);
  const target = values.target ?? (config.source === 'embedded' ? EMBEDDED_TARGET : targets.length === 1 ? targets[0] : undefined);
  if (!target) {
    err.write(`stepvault: name a target with --target (this config has ${targets.join(', ')})\n`);
    return 2;
  }
  const retryDelay = values['retry-delay-ms'];
  if (retryDelay !== undefined && !/^\d+$/.test(retryDelay)) {
    err.write('stepvault: --retry-delay-ms takes a whole number of milliseconds\n');
    return 2;
  }

  const reporter = new ConsoleReporter(out);
  const source = config.source === 'embedded' ? 'the embedded sample config' : path.relative(process.cwd(), config.source) || config.source;
  reporter.line(`stepvault run: target ${target} from ${source}`);
  const outcome = await runWorkflow({
    request: { target },
    runtime: createRuntime(config, {
      logger: (sinks) => createJsonLogger({ level: values.verbose ? 'debug' : 'error', write: (line) => err.write(`${line}\n`), sinks }),
      // Metrics are CloudWatch's business; locally they are shown with --verbose.
      emitMetrics: (document) => {
        if (values.verbose) err.write(`${JSON.stringify(document)}\n`);
      },
      progress: reporter.onProgress,
    }),
    onEvent: reporter.onEvent,
    ...(retryDelay !== undefined && { retryDelayMs: Number(retryDelay) }),
  });

  if (outcome.status === 'SUCCEEDED') {
    const run = outcome.output as RunState;
    reporter.line(`\nBackup of ${target} succeeded: ${formatBytes(run.dump?.size ?? 0)}, sha256 ${run.dump?.sha256 ?? '?'}`);
    for (const outcome of run.upload ?? []) {
      reporter.line(outcome.status === 'stored' ? `  ${outcome.destination}: ${outcome.location}` : `  ${outcome.destination}: FAILED (optional): ${outcome.error}: ${readableCause(outcome.cause)}`);
    }
    for (const pruned of run.prune?.destinations ?? []) {
      if (pruned.deleted.length > 0) reporter.line(`  retention on ${pruned.destination}: deleted ${pruned.deleted.length}, kept ${pruned.kept}`);
    }
    if (run.pruneError) reporter.line(`  retention NOT applied: ${run.pruneError.Error}: ${readableCause(run.pruneError.Cause)}`);
    for (const sent of (run as { notification?: { sent?: { notifier: string; id: string }[] } }).notification?.sent ?? []) {
      reporter.line(`  notified ${sent.notifier}: ${sent.id}`);
    }
    return 0;
  }
  const where = outcome.failedState ? ` in ${outcome.failedState}` : '';
  reporter.line(`\nBackup of ${target} FAILED${where}: ${outcome.error}: ${readableCause(outcome.cause ?? '')}`);
  return 1;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
