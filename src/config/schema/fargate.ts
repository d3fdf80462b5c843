/**
 * `fargate:` on a target (or under defaults): the size of the ECS task its dump runs in when its
 * runner is fargate (or auto picks fargate). Fargate offers fixed CPU and memory pairs; a pair it
 * does not offer is refused here, at load, not by RunTask at two in the morning.
 */
import * as z from 'zod';

/** CPU units (1024 = one vCPU) → the memory (MiB) Fargate pairs with it: from, to, in steps of. */
export const FARGATE_MEMORY: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/**
 * How long the state machine waits for a dump task (`fargate.timeoutMinutes`): two hours unless
 * the config says otherwise, and at most a day, since a longer dump would overlap the next
 * night's run.
 */
export const FARGATE_TIMEOUT_MINUTES = { default: 120, max: 1440 } as const;

/** Fargate's ephemeral storage: 20 GiB without asking, 21 to 200 GiB when asked. */
export const FARGATE_STORAGE_GIB = { min: 21, max: 200 } as const;

export const fargateSchema = z
  .strictObject({
    /** CPU units: 256, 512, 1024 (one vCPU), 2048, 4096, 8192 or 16384. */
    cpu: z.int().optional(),
    /** MiB, one Fargate pairs with the CPU setting. */
    memory: z.int().optional(),
    /** GiB of ephemeral storage (for a dump staged on the task's own disk). */
    ephemeralStorageGiB: z
      .int()
      .min(FARGATE_STORAGE_GIB.min, `must be at least ${FARGATE_STORAGE_GIB.min} (Fargate gives 20 GiB without it)`)
      .max(FARGATE_STORAGE_GIB.max, `must be at most ${FARGATE_STORAGE_GIB.max} (Fargate's largest disk)`)
      .optional(),
    /** Minutes the state machine waits for the task before it fails the run (States.Timeout) and stops the task. */
    timeoutMinutes: z
      .int()
      .min(1, 'must be at least 1')
      .max(
        FARGATE_TIMEOUT_MINUTES.max,
        `must be at most ${FARGATE_TIMEOUT_MINUTES.max} (a day: a longer dump would overlap the next night's run)`,
      )
      .optional(),
  })
  .superRefine((size, ctx) => {
    const cpus = Object.keys(FARGATE_MEMORY).join(', ');
    const range = size.cpu === undefined ? undefined : FARGATE_MEMORY[size.cpu];
    if (size.cpu !== undefined && !range) {
      ctx.addIssue({
        code: 'custom',
        path: ['cpu'],
        message: `${size.cpu} is not a Fargate CPU setting: use one of ${cpus}`,
      });
      return;
    }
    if (size.memory === undefined) return;
    if (!range) {
      ctx.addIssue({
        code: 'custom',
        path: ['cpu'],
        message: `is required with memory: Fargate sizes memory per CPU setting (${cpus})`,
      });
      return;
    }
    const [from, to, step] = range;
    if (size.memory < from || size.memory > to || (size.memory - from) % step !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['memory'],
        message: `${size.memory} MiB does not go with cpu ${size.cpu}: Fargate gives it ${from} to ${to} MiB in steps of ${step}`,
      });
  });

export type FargateSize = z.output<typeof fargateSchema>;
