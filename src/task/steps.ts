/**
 * The steps a container may run: the same domain functions as their Lambda functions, so a dump in
 * an ECS task is the very dump Lambda would make. Only steps that need what Lambda lacks (more
 * than 15 minutes, more disk) belong here.
 */
import type { Runtime } from '../runtime.ts';
import { streamDump } from '../steps/streamDump.ts';
import type { StepName } from '../steps/table.ts';

export type TaskStep = (input: never, runtime: Runtime) => Promise<unknown>;

export const TASK_STEPS = { streamDump } as const satisfies Partial<Record<StepName, TaskStep>>;

export type TaskStepName = keyof typeof TASK_STEPS;

export function isTaskStep(name: string): name is TaskStepName {
  return Object.hasOwn(TASK_STEPS, name);
}
