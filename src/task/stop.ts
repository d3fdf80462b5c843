/**
 * What a task does when it is told to stop (ECS sends SIGTERM, then SIGKILL after the container's
 * stop timeout): what an interrupted `stepvault run` does, for the one step it runs. The database
 * tools are stopped, the run's staging folder removed, and a step that writes to the destinations
 * has what it left there closed (open multipart uploads aborted, a dump without its manifest
 * removed). The last stderr line names the stop, as a failure's does.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { PlanResult } from '../contracts.ts';
import { stopRunningTools } from '../tools/running.ts';
import { removeAllScratch } from '../tools/scratch.ts';
import type { Runtime } from '../runtime.ts';
import { STEPS, type StepName } from '../steps/table.ts';
import { TASK_FAILED_ERROR } from './contract.ts';

/** ECS waits 30 s by default between SIGTERM and SIGKILL; the tools get a part of it. */
const TOOL_GRACE_MS = 5000;

export async function stopTask(
  current: { step: string; input: unknown; runtime: Runtime } | undefined,
  write: (line: string) => void,
): Promise<void> {
  const said: string[] = [];
  try {
    const stopped = await stopRunningTools(TOOL_GRACE_MS);
    if (stopped.length > 0) said.push(`stopped ${stopped.map((t) => `${t.name} (pid ${t.pid})`).join(', ')}`);
    const scratch = await removeAllScratch();
    if (scratch.length > 0) said.push(`removed the dump's scratch folder ${scratch.join(', ')}`);
    const plan = planOf(current?.input);
    // Only ever the folder named after this run, as Cleanup does.
    if (plan && path.basename(path.resolve(plan.stagingDir)) === plan.runId && existsSync(plan.stagingDir)) {
      await rm(plan.stagingDir, { recursive: true, force: true });
      said.push(`removed the run's staging folder ${plan.stagingDir}`);
    }
    const spec = current && (STEPS[current.step as StepName] ?? undefined);
    if (plan && current && spec?.destinations === 'write') {
      const { closeInterruptedUpload } = await import('../local/interrupted-upload.ts');
      said.push(...(await closeInterruptedUpload(plan, current.runtime)).map((l) => l.trim()));
    }
  } catch (error) {
    said.push(`cleaning up failed: ${(error as Error).message}`);
  }
  current?.runtime.log.warn('task stopped by SIGTERM', { cleanup: said });
  await current?.runtime.flush().catch(() => undefined);
  write(
    JSON.stringify({
      errorType: TASK_FAILED_ERROR,
      errorMessage: `the task was stopped (SIGTERM) during ${current?.step ?? 'its start'}${said.length ? `: ${said.join('; ')}` : ''}`,
    }),
  );
}

/** The step's input is the run's plan (Dump's, streamDump's) or carries it (`{ plan, … }`). */
function planOf(input: unknown): PlanResult | undefined {
  const candidate = (input as { plan?: unknown } | null)?.plan ?? input;
  const plan = candidate as Partial<PlanResult> | null;
  return plan &&
    typeof plan.runId === 'string' &&
    typeof plan.stagingDir === 'string' &&
    Array.isArray(plan.destinations)
    ? (plan as PlanResult)
    : undefined;
}
