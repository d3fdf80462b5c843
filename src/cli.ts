#!/usr/bin/env node
/**
 * The stepvault command line. `run` executes the backup workflow on this machine with the same
 * state machine and handlers that run in AWS.
 *
 * Exit codes: 0 the workflow succeeded; 1 it ended in its failure branch; 2 the command could
 * not start (bad arguments, bad config); 130/143 it was interrupted by SIGINT/SIGTERM.
 */
import { loadConfig } from './config/load.ts';
import { ConfigError, StepvaultError } from './errors.ts';
import { formatBytes } from './text/format.ts';
import { ConsoleReporter, heartbeatMsFromEnvironment, notificationLines } from './local/reporter.ts';
import { handleInterrupts, type InterruptContext } from './local/interrupt.ts';
import type { WorkflowEvent } from './local/runner.ts';
import type { PlanResult } from './contracts.ts';
import { createJsonLogger } from './observability/log.ts';
import { readableCause } from './text/cause.ts';
import { SecretResolver } from './config/secrets.ts';
import { closest } from './config/issues.ts';
import { parseOptions } from './commands/options.ts';
import { checkSecrets, chooseTarget, describeSource } from './commands/preflight.ts';

const USAGE = `Usage: stepvault <command> [options]

Commands:
  run     --config FILE --target NAME   run the backup workflow locally (same state machine, same handlers)
  start   --target NAME [--wait]        start the deployed state machine for a target
  status  [--target NAME]               recent executions of the deployed state machine
  serve   --config FILE [--port N]      serve the Step Functions API on this machine, backed by local runs
  list    --config FILE --target NAME [--json] [--from DEST]
                                        the target's backups, newest first, from their manifests
  restore --config FILE --target NAME [--backup latest|KEY] [--from DEST] --into URL
          [--clean] [--jobs N] [--no-owner] [--force]
                                        check a backup against its manifest, then restore it into URL
                                        (password: $STEPVAULT_RESTORE_PASSWORD, else asked at a terminal)

Options for run:
  --config FILE         the config file (default: ./stepvault.config.yml, else the embedded sample)
  --target NAME         the target to back up (default: the only target, or "sample" for the embedded config)
  --retry-delay-ms N    wait N ms between retries instead of the state machine's intervals
  --verbose             also print the steps' JSON log lines (to stderr)
  -h, --help            this help

Options for start and status:
  --stage NAME          the deployed stage (default dev): its stack stepvault-<stage> names the state machine
  --state-machine ARN   the state machine (default: $STEPVAULT_STATE_MACHINE_ARN, else the stack's output)
  --region REGION       default: deploy.region of the config, else the AWS SDK's
  --wait                (start) follow the execution and exit 0 if it succeeds, 1 if not
  --name NAME           (start) the execution's name (default: <target>-<YYYYMMDDTHHMM>)
`;

const COMMANDS = ['run', 'start', 'status', 'serve', 'list', 'restore', 'help'];

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
      case 'start':
      case 'status':
        return await remoteCommand(command, rest, out, err);
      case 'serve':
        return await serveCommand(rest, out);
      case 'list':
      case 'restore':
        return await backupsCommand(command, rest, out, err);
      default: {
        const guess = closest(command, COMMANDS);
        err.write(
          `stepvault: unknown command ${JSON.stringify(command.slice(0, 40))}${guess ? `; did you mean "${guess}"?` : ''}\n\n${USAGE}`,
        );
        return 2;
      }
    }
  } catch (error) {
    if (error instanceof StepvaultError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`stepvault: ${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
}

async function runCommand(
  args: string[],
  out: NodeJS.WritableStream & { isTTY?: boolean },
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseOptions('run', args, {
    config: { type: 'string' },
    target: { type: 'string' },
    'retry-delay-ms': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    out.write(USAGE);
    return 0;
  }
  const retryDelay = values['retry-delay-ms'];
  if (retryDelay !== undefined && !/^\d{1,9}$/.test(retryDelay)) {
    err.write('stepvault: --retry-delay-ms takes a whole number of milliseconds, e.g. --retry-delay-ms 1000\n');
    return 2;
  }
  const config = loadConfig(values.config);
  const target = chooseTarget(config, values.target).name;
  // Everything the user can fix is checked before the workflow starts: no failure mail for a typo.
  const secrets = new SecretResolver();
  await checkSecrets(config, config.targets[target]!, secrets);

  // Loaded only now: a command that stops at its checks answers without loading the workflow engine.
  const [{ runWorkflow }, { createRuntime }] = await Promise.all([import('./local/runner.ts'), import('./runtime.ts')]);
  const reporter = new ConsoleReporter(out, {
    heartbeatMs: heartbeatMsFromEnvironment(),
    ...(values.verbose && { json: (line: string) => err.write(`${line}\n`) }),
  });
  reporter.line(`stepvault run: target ${target} from ${describeSource(config)}`);
  const abort = new AbortController();
  const seen: ReturnType<InterruptContext['progress']> = { uploadStarted: false };
  const runtime = createRuntime(config, {
    secrets,
    logger: (sinks) =>
      createJsonLogger({ level: values.verbose ? 'debug' : 'error', write: (line) => err.write(`${line}\n`), sinks }),
    // Metrics are CloudWatch's business; locally they are shown with --verbose.
    emitMetrics: (document) => {
      if (values.verbose) err.write(`${JSON.stringify(document)}\n`);
    },
    progress: reporter.onProgress,
  });
  const stopHandling = handleInterrupts({
    abort: () => abort.abort(),
    progress: () => seen,
    runtime: () => runtime,
    write: (text) => new Promise((resolve) => out.write(text, () => resolve())),
    exit: (code) => process.exit(code),
  });
  const outcome = await runWorkflow({
    signal: abort.signal,
    request: { target },
    runtime,
    onEvent: (event) => {
      followRun(event, seen);
      reporter.onEvent(event);
    },
    ...(retryDelay !== undefined && { retryDelayMs: Number(retryDelay) }),
  }).finally(() => {
    stopHandling();
    reporter.close();
  });
  // Interrupted: the handler stops the tools, cleans up, reports and exits with 130/143.
  if (abort.signal.aborted) return new Promise<number>(() => undefined);

  if (outcome.status === 'SUCCEEDED') {
    const run = outcome.output ?? { target };
    reporter.line(
      `\nBackup of ${target} succeeded: ${formatBytes(run.dump?.size ?? 0)}, sha256 ${run.dump?.sha256 ?? '?'}`,
    );
    for (const outcome of run.upload ?? []) {
      reporter.line(
        outcome.status === 'stored'
          ? `  ${outcome.destination}: ${outcome.location}`
          : `  ${outcome.destination}: FAILED (optional): ${outcome.error}: ${readableCause(outcome.cause)}`,
      );
    }
    for (const pruned of run.prune?.destinations ?? []) {
      if (pruned.deleted.length > 0)
        reporter.line(`  retention on ${pruned.destination}: deleted ${pruned.deleted.length}, kept ${pruned.kept}`);
    }
    if (run.pruneError)
      reporter.line(`  retention NOT applied: ${run.pruneError.Error}: ${readableCause(run.pruneError.Cause)}`);
    for (const line of notificationLines(run)) reporter.line(line);
    return 0;
  }
  const where = outcome.failedState ? ` in ${outcome.failedState}` : '';
  reporter.line(`\nBackup of ${target} FAILED${where}: ${outcome.error}: ${readableCause(outcome.cause ?? '')}`);
  return 1;
}

/** What an interruption needs to know of the run: where it stages, its plan, and how far it got. */
function followRun(event: WorkflowEvent, seen: ReturnType<InterruptContext['progress']>): void {
  if (event.type !== 'state-entered') return;
  if (event.index === undefined) seen.state = event.state;
  // StreamDump writes into the first destination as it dumps: an upload under way too.
  if (event.state.startsWith('Upload') || event.state === 'StreamDump') seen.uploadStarted = true;
  const plan = (event.input as { plan?: Partial<PlanResult> } | null)?.plan;
  if (typeof plan?.stagingDir === 'string' && typeof plan.runId === 'string') {
    seen.stagingDir = plan.stagingDir;
    seen.runId = plan.runId;
  }
  // The whole plan once it is one: closing an interrupted Upload needs its key and destinations.
  if (typeof plan?.objectKey === 'string' && Array.isArray(plan.destinations)) seen.plan = plan as PlanResult;
}

async function remoteCommand(
  command: 'start' | 'status',
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseOptions(command, args, {
    target: { type: 'string' },
    wait: { type: 'boolean', default: false },
    stage: { type: 'string', default: 'dev' },
    region: { type: 'string' },
    'state-machine': { type: 'string' },
    name: { type: 'string' },
    config: { type: 'string' },
  });
  let region = values.region;
  if (!region) {
    try {
      region = loadConfig(values.config).deploy?.region;
    } catch {
      // No config here is fine: the SDK's own region settings apply.
    }
  }
  const common = {
    stage: values.stage,
    ...(region && { region }),
    ...(values['state-machine'] && { stateMachine: values['state-machine'] }),
  };
  const [{ start }, { status }] = await Promise.all([import('./commands/start.ts'), import('./commands/status.ts')]);
  if (command === 'status') return status({ ...common, ...(values.target && { target: values.target }) }, out);
  if (!values.target) {
    err.write('stepvault: start needs --target NAME\n');
    return 2;
  }
  return start({ ...common, target: values.target, wait: values.wait, ...(values.name && { name: values.name }) }, out);
}

async function backupsCommand(
  command: 'list' | 'restore',
  args: string[],
  out: NodeJS.WritableStream & { isTTY?: boolean },
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseOptions(command, args, {
    config: { type: 'string' },
    target: { type: 'string' },
    json: { type: 'boolean', default: false },
    from: { type: 'string' },
    backup: { type: 'string', default: 'latest' },
    into: { type: 'string' },
    force: { type: 'boolean', default: false },
    clean: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    'no-owner': { type: 'boolean', default: false },
  });
  const config = loadConfig(values.config);
  const target = chooseTarget(config, values.target).name;
  const secrets = new SecretResolver();
  if (command === 'list') {
    const { list } = await import('./commands/list.ts');
    return list(config, { target, json: values.json, ...(values.from && { from: values.from }) }, secrets, out);
  }
  if (!values.into) {
    err.write('stepvault: restore needs --into URL, e.g. --into postgres://postgres@127.0.0.1:5432/orders_restored\n');
    return 2;
  }
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) {
    err.write('stepvault: --jobs takes a whole number from 1\n');
    return 2;
  }
  const { restoreCommand } = await import('./commands/restore.ts');
  return restoreCommand(
    config,
    {
      target,
      backup: values.backup,
      ...(values.from && { from: values.from }),
      into: values.into,
      force: values.force,
      clean: values.clean,
      ...(values.jobs && { jobs: Number(values.jobs) }),
      noOwner: values['no-owner'],
    },
    secrets,
    out,
    err,
  );
}

async function serveCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseOptions('serve', args, {
    config: { type: 'string' },
    port: { type: 'string', default: '8083' },
  });
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new ConfigError('serve: --port takes a port number from 0 to 65535, e.g. --port 8083');
  }
  const config = loadConfig(values.config);
  const [{ startSfnServer }, { createRuntime }] = await Promise.all([
    import('./local/sfn-server.ts'),
    import('./runtime.ts'),
  ]);
  const server = await startSfnServer(
    () => createRuntime(config, { logger: (sinks) => createJsonLogger({ level: 'error', sinks }) }),
    { port: Number(values.port) },
  );
  out.write(`Step Functions API on ${server.url}, state machine ${server.stateMachineArn}\n`);
  out.write(
    `  AWS_ENDPOINT_URL_SFN=${server.url} stepvault start --state-machine ${server.stateMachineArn} --target NAME --wait\n`,
  );
  out.write(
    `  aws stepfunctions --endpoint-url ${server.url} start-execution --state-machine-arn ${server.stateMachineArn} --input '{"target":"NAME"}'\n`,
  );
  await new Promise(() => undefined);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
