/** `stepvault run`: the backup workflow on this machine, with the state machine and handlers deployed to AWS. */
import { loadConfig } from '../config/load.ts';
import { formatBytes } from '../text/format.ts';
import { ConsoleReporter, heartbeatMsFromEnvironment, notificationLines } from '../local/reporter.ts';
import { handleInterrupts, type InterruptContext } from '../local/interrupt.ts';
import type { WorkflowEvent } from '../local/runner.ts';
import type { PlanResult } from '../contracts.ts';
import { createJsonLogger } from '../observability/log.ts';
import { readableCause } from '../text/cause.ts';
import { SecretResolver } from '../config/secrets.ts';
import { parseOptions } from './options.ts';
import { checkSecrets, chooseTarget, describeSource } from './preflight.ts';
import { USAGE } from './usage.ts';
import { journalEntry, journalFile, recordRun } from '../status/run-journal.ts';

export async function runCommand(
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
  const [{ runWorkflow }, { createRuntime }, { TasksUnderWay }] = await Promise.all([
    import('../local/runner.ts'),
    import('../runtime.ts'),
    import('../local/tasks-under-way.ts'),
  ]);
  const reporter = new ConsoleReporter(out, {
    heartbeatMs: heartbeatMsFromEnvironment(),
    ...(values.verbose && { json: (line: string) => err.write(`${line}\n`) }),
  });
  reporter.line(`stepvault run: target ${target} from ${describeSource(config)}`);
  const abort = new AbortController();
  const seen: ReturnType<InterruptContext['progress']> = { uploadStarted: false };
  // Told as each step's handler starts: the executor's events for it come later.
  const underWay = new TasksUnderWay((state, input) => followStep(state, input, seen));
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
    settled: (timeoutMs) => underWay.settled(timeoutMs),
    write: (text) => new Promise((resolve) => out.write(text, () => resolve())),
    exit: (code) => process.exit(code),
  });
  const outcome = await runWorkflow({
    signal: abort.signal,
    tasksUnderWay: underWay,
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
  await recordRun(journalFile(config.targets[target]!.staging), journalEntry(target, outcome, new Date())).catch(
    (error: Error) => err.write(`stepvault: run not recorded for the status page: ${error.message}\n`),
  );

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
  reporter.line(
    `\nBackup of ${target} ${outcome.status}${where}: ${outcome.error}: ${readableCause(outcome.cause ?? '')}`,
  );
  return 1;
}

/** States whose step writes into the destinations: StreamDump and the fargate task stream the dump into the first. */
function writes(state: string): boolean {
  return state.startsWith('Upload') || state === 'StreamDump' || state === 'FargateDump';
}

/** A step's handler has started: a writing one may open its write at once. */
function followStep(state: string, input: unknown, seen: ReturnType<InterruptContext['progress']>): void {
  if (!writes(state)) return;
  seen.uploadStarted = true;
  // StreamDump's input is the plan itself; an Upload iteration's carries it.
  const plan = ((input as { plan?: unknown } | null)?.plan ?? input) as Partial<PlanResult> | null;
  if (typeof plan?.objectKey === 'string' && Array.isArray(plan.destinations)) seen.plan = plan as PlanResult;
}

/** What an interruption needs to know of the run: where it stages, its plan, and how far it got. */
function followRun(event: WorkflowEvent, seen: ReturnType<InterruptContext['progress']>): void {
  if (event.type !== 'state-entered') return;
  if (event.index === undefined) seen.state = event.state;
  if (writes(event.state)) seen.uploadStarted = true;
  const plan = (event.input as { plan?: Partial<PlanResult> } | null)?.plan;
  if (typeof plan?.stagingDir === 'string' && typeof plan.runId === 'string') {
    seen.stagingDir = plan.stagingDir;
    seen.runId = plan.runId;
  }
  // The whole plan once it is one: closing an interrupted Upload needs its key and destinations.
  if (typeof plan?.objectKey === 'string' && Array.isArray(plan.destinations)) seen.plan = plan as PlanResult;
}
