/**
 * Where a target's dump runs. One state machine and one domain for all three; the ChooseRunner
 * state of statemachine/backup.asl.json branches on Plan's `runner`.
 *
 * - `lambda`: one Lambda outside any VPC dumps and streams straight into the first destination;
 *   nothing is staged (the StreamDump state).
 * - `efs`: the Dump Lambda in the VPC stages the dump on the EFS share, Upload stores it (the
 *   Dump state): for private databases and for dumps that must be staged.
 * - `fargate`: an ECS task with no 15-minute limit streams the dump into the first destination.
 *
 * This file imports nothing: the config schema, Plan and the contracts all read it.
 */
export const RUNNERS = ['lambda', 'efs', 'fargate'] as const;

export type Runner = (typeof RUNNERS)[number];

/** What a config may ask for: a runner, or `auto` (Plan picks one from the last dump's duration). */
export const RUNNER_CHOICES = [...RUNNERS, 'auto'] as const;

export type RunnerChoice = (typeof RUNNER_CHOICES)[number];

/** `runnerAuto.fargateAbove` unless the config says otherwise: half of the Lambda's time limit. */
export const DEFAULT_FARGATE_ABOVE = 0.5;
