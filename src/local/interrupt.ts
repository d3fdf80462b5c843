/**
 * Ctrl-C (SIGINT) or SIGTERM during `stepvault run`: stop the workflow where it is, stop the
 * database tools it started, remove the run's staging folder, close what an Upload under way
 * opened on the destinations (interrupted-upload.ts), say what happened, and exit with 128 + the
 * signal's number (130, 143) as shells and service managers expect. A second signal while that
 * is under way exits at once.
 *
 * The step under way when the signal came is not stopped by the state machine's abort: a handler
 * that was about to open its write on a destination (a StreamDump just started, an Upload between
 * two destinations) may open it after the interruption first looked. So the tools are stopped
 * first (which ends a dump and the stream it feeds), the steps under way are waited for (within
 * SETTLE_MS), and only then is the run looked at again to decide what to close.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PlanResult } from '../contracts.ts';
import { stopRunningTools } from '../tools/running.ts';
import { removeAllScratch } from '../tools/scratch.ts';
import type { Runtime } from '../runtime.ts';

export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

type Signal = keyof typeof SIGNAL_EXIT_CODES;

/** How long a tool has to exit after SIGTERM before it gets SIGKILL. */
const TOOL_GRACE_MS = 5000;
/** How long the steps under way have to settle once their tools are stopped. */
export const SETTLE_MS = 5000;

export interface InterruptContext {
  /** Stops the state machine: no further state starts. */
  abort(): void;
  /** The run as far as it got: its staging folder and id once Plan has named them, the current state. */
  progress(): { stagingDir?: string; runId?: string; state?: string; uploadStarted: boolean; plan?: PlanResult };
  /** The run's runtime (config, secrets, log): what closing its writes on the destinations needs. */
  runtime(): Runtime | undefined;
  /** Resolves once the steps under way have settled, or after `timeoutMs` (src/local/tasks-under-way.ts). */
  settled(timeoutMs: number): Promise<unknown>;
  write(text: string): Promise<void>;
  exit(code: number): void;
}

/** Installs the handlers; call the returned function to remove them when the run ends. */
export function handleInterrupts(context: InterruptContext): () => void {
  let interrupting = false;
  const handler = (signal: Signal) => {
    if (interrupting) return context.exit(SIGNAL_EXIT_CODES[signal]);
    interrupting = true;
    void interruptRun(signal, context).finally(() => context.exit(SIGNAL_EXIT_CODES[signal]));
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/** Stops the run, cleans up after it and says what happened; exported for tests (the handler calls it). */
export async function interruptRun(signal: Signal, context: InterruptContext): Promise<void> {
  const during = context.progress().state;
  context.abort();
  const said: string[] = [`\nInterrupted by ${signal}${during ? ` during ${during}` : ''}.`];
  try {
    const stopped = await stopRunningTools(TOOL_GRACE_MS);
    if (stopped.length > 0) said.push(`  stopped ${stopped.map((t) => `${t.name} (pid ${t.pid})`).join(', ')}`);
    await context.settled(SETTLE_MS);
    // Looked at only now: a step under way may have opened its write since the signal.
    const run = context.progress();
    const scratch = await removeAllScratch();
    if (scratch.length > 0) said.push(`  removed the dump's scratch folder ${scratch.join(', ')}`);
    // Only ever the folder named after this run, as Cleanup does; a streamed dump (any runner but efs) staged nothing.
    const staged = !run.plan || run.plan.runner === 'efs';
    if (staged && run.stagingDir && run.runId && path.basename(path.resolve(run.stagingDir)) === run.runId) {
      await rm(run.stagingDir, { recursive: true, force: true });
      said.push(`  removed the run's staging folder ${run.stagingDir}`);
    }
    const runtime = context.runtime();
    if (!run.uploadStarted) said.push('  nothing was published');
    else if (!run.plan || !runtime)
      said.push('  the upload had started: a dump there without its manifest is not a backup');
    else {
      // Loaded only now, like the workflow: the storage providers are not needed to start a run.
      const { closeInterruptedUpload, INTERRUPT_BUDGET_MS } = await import('./interrupted-upload.ts');
      said.push(
        `  the upload had started: closing what it left on the destinations (at most ${INTERRUPT_BUDGET_MS / 1000} s)`,
      );
      said.push(...(await closeInterruptedUpload(run.plan, runtime)));
    }
  } catch (error) {
    said.push(`  cleaning up failed: ${(error as Error).message}`);
  }
  await context.write(`${said.join('\n')}\n`);
}
