/**
 * Ctrl-C (SIGINT) or SIGTERM during `stepvault run`: stop the workflow where it is, stop the
 * database tools it started, remove the run's staging folder, close what an Upload under way
 * opened on the destinations (interrupted-upload.ts), say what happened, and exit with 128 + the
 * signal's number (130, 143) as shells and service managers expect. A second signal while that
 * is under way exits at once.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PlanResult } from '../contracts.ts';
import { stopRunningTools } from '../tools/running.ts';
import type { Runtime } from '../runtime.ts';

export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

type Signal = keyof typeof SIGNAL_EXIT_CODES;

/** How long a tool has to exit after SIGTERM before it gets SIGKILL. */
const TOOL_GRACE_MS = 5000;

export interface InterruptContext {
  /** Stops the state machine: no further state starts. */
  abort(): void;
  /** The run as far as it got: its staging folder and id once Plan has named them, the current state. */
  progress(): { stagingDir?: string; runId?: string; state?: string; uploadStarted: boolean; plan?: PlanResult };
  /** The run's runtime (config, secrets, log): what closing its writes on the destinations needs. */
  runtime(): Runtime | undefined;
  write(text: string): Promise<void>;
  exit(code: number): void;
}

/** Installs the handlers; call the returned function to remove them when the run ends. */
export function handleInterrupts(context: InterruptContext): () => void {
  let interrupting = false;
  const handler = (signal: Signal) => {
    if (interrupting) return context.exit(SIGNAL_EXIT_CODES[signal]);
    interrupting = true;
    void interrupt(signal, context).finally(() => context.exit(SIGNAL_EXIT_CODES[signal]));
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

async function interrupt(signal: Signal, context: InterruptContext): Promise<void> {
  const run = context.progress();
  context.abort();
  const said: string[] = [`\nInterrupted by ${signal}${run.state ? ` during ${run.state}` : ''}.`];
  try {
    const stopped = await stopRunningTools(TOOL_GRACE_MS);
    if (stopped.length > 0) said.push(`  stopped ${stopped.map((t) => `${t.name} (pid ${t.pid})`).join(', ')}`);
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
