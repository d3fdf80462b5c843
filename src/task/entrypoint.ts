/**
 * The container's program: runs one step of the workflow, named by $STEPVAULT_STEP, on the input
 * in $STEPVAULT_STEP_INPUT (JSON), both set by the state machine's ContainerOverrides. It builds
 * its runtime exactly as a Lambda function does (the config at $STEPVAULT_CONFIG, secrets from
 * Secrets Manager / SSM), logs JSON lines, and exits 0 on success. On failure it exits with the
 * error's code (TASK_EXIT_CODES) and its last stderr line is `{"errorType","errorMessage"}`, as
 * Lambda would report it, so whoever started it can name the error.
 *
 * SIGTERM (ECS stopping the task, or an interrupted local run) stops the database tools, removes
 * the run's staging folder and closes what the step opened on its destinations, like an
 * interrupted `stepvault run`, then exits 143.
 */
import { ConfigError } from '../errors.ts';
import { toNamedError } from '../named-errors.ts';
import { lambdaMetrics } from '../observability/metrics.ts';
import { runtimeFromEnvironment, type Runtime } from '../runtime.ts';
import { TASK_ENV, TASK_EXIT_CODES } from './contract.ts';
import { stopTask } from './stop.ts';
import { isTaskStep, TASK_STEPS, type TaskStep } from './steps.ts';

export interface TaskIo {
  env: NodeJS.ProcessEnv;
  runtime: () => Runtime;
  /** The last line written here names the error of a failed task. */
  stderr: (line: string) => void;
}

/** Runs the step the environment names; resolves to the process's exit code. */
export async function runTask(io: TaskIo, onStarted?: (step: string, input: unknown, runtime: Runtime) => void) {
  let runtime: Runtime | undefined;
  try {
    const { step, input } = readRequest(io.env);
    runtime = io.runtime();
    onStarted?.(step, input, runtime);
    const log = runtime.log.child({ step, runner: 'fargate' });
    log.info('task started');
    try {
      const result = await (TASK_STEPS[step] as TaskStep)(input as never, runtime);
      log.info('task finished', { result });
    } finally {
      await runtime.flush();
      lambdaMetrics.publishStoredMetrics();
    }
    return 0;
  } catch (thrown) {
    const error = toNamedError(thrown);
    runtime?.log.error('task failed', { error: error.name, cause: error.message });
    io.stderr(JSON.stringify({ errorType: error.name, errorMessage: error.message }));
    return TASK_EXIT_CODES[error.name as keyof typeof TASK_EXIT_CODES] ?? 1;
  }
}

function readRequest(env: NodeJS.ProcessEnv): { step: keyof typeof TASK_STEPS; input: unknown } {
  const step = env[TASK_ENV.step];
  const known = Object.keys(TASK_STEPS).join(', ');
  if (!step) throw new ConfigError(`${TASK_ENV.step} is not set: the task runs one step, one of ${known}`);
  if (!isTaskStep(step)) throw new ConfigError(`${TASK_ENV.step} is "${step}": a task runs one of ${known}`);
  const text = env[TASK_ENV.input];
  if (text === undefined) throw new ConfigError(`${TASK_ENV.input} is not set: the step ${step} needs its input`);
  try {
    return { step, input: JSON.parse(text) };
  } catch (error) {
    throw new ConfigError(`${TASK_ENV.input} is not JSON (${(error as Error).message})`);
  }
}

if (import.meta.main) {
  let current: { step: string; input: unknown; runtime: Runtime } | undefined;
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
    void stopTask(current, (line) => process.stderr.write(`${line}\n`)).finally(() => process.exit(143));
  });
  const code = await runTask(
    {
      env: process.env,
      runtime: runtimeFromEnvironment,
      stderr: (line) => process.stderr.write(`${line}\n`),
    },
    (step, input, runtime) => {
      current = { step, input, runtime };
    },
  );
  // A step cut short by SIGTERM fails on its way out; the stop handler says so and exits.
  if (!stopping) process.exit(code);
}
