/** `runner` and `runnerAuto` of a target or of `defaults`: where the dump runs (see src/runners/). */
import * as z from 'zod';
import { RUNNER_CHOICES } from '../../runners/types.ts';

export const runnerSchema = z.enum(RUNNER_CHOICES);

export const runnerAutoSchema = z.strictObject({
  /**
   * `runner: auto` moves the dump to fargate when the last dump took longer than this share of the
   * Lambda's time limit (the dump function's timeout): 0.5 moves it at 450 of 900 s.
   */
  fargateAbove: z
    .number()
    .gt(0, 'must be a share of the Lambda time limit above 0, e.g. 0.5')
    .max(1, 'must be at most 1, the whole Lambda time limit (0.5 is half of it)'),
});

export type RunnerAutoConfig = z.output<typeof runnerAutoSchema>;
