/**
 * A Task state that calls `ecs:runTask.sync` (the fargate runner), run on this machine: in place
 * of ECS, the task's entrypoint (src/task/entrypoint.ts) is started as a child process with the
 * environment a container would get (the config the run uses, as a Lambda function is given
 * its config, and the ContainerOverrides' variables), and waited for as `.sync` waits.
 *
 * What it returns and throws is what the state machine sees: on exit 0, a task description of a
 * STOPPED task (ECS's shape, reduced to what a local run knows); otherwise the error the task
 * named on its last stderr line, so the ASL's Retry and Catch treat it as they treat a Lambda
 * step's. A task that names no error (killed, crashed) fails as Step Functions reports an ECS
 * task that stopped without success: `States.TaskFailed`. When the run is interrupted, the task
 * is stopped as ECS stops one: SIGTERM, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { ECS_RUN_TASK_SYNC, TASK_CONTAINER_NAME, TASK_FAILED_ERROR, TASK_SUBSTITUTIONS } from '../task/contract.ts';
import { LambdaFunctionError } from './lambda-emulation.ts';

const ENTRYPOINT = fileURLToPath(new URL('../task/entrypoint.ts', import.meta.url));

/** ECS's default stop timeout: how long a container has between SIGTERM and SIGKILL. */
export const STOP_TIMEOUT_MS = 30_000;

/** The parameters of a runTask call, as far as a local run reads them. */
/** What the deployment's ECS substitutions stand for in a local run: names only, nothing is called. */
export const LOCAL_TASK_SUBSTITUTIONS: Record<(typeof TASK_SUBSTITUTIONS)[keyof typeof TASK_SUBSTITUTIONS], string> = {
  [TASK_SUBSTITUTIONS.cluster]: 'arn:aws:ecs:us-east-1:000000000000:cluster/stepvault-local',
  [TASK_SUBSTITUTIONS.taskDefinition]: 'arn:aws:ecs:us-east-1:000000000000:task-definition/stepvault-local-dump:1',
  [TASK_SUBSTITUTIONS.subnets]: 'subnet-local',
  [TASK_SUBSTITUTIONS.securityGroups]: 'sg-local',
  [TASK_SUBSTITUTIONS.assignPublicIp]: 'DISABLED',
};

/** The top-level Task states that run an ECS task and wait for it. */
export function ecsTaskStates(definition: StateMachineDefinition): string[] {
  return Object.entries(definition.States)
    .filter(([, state]) => state.Type === 'Task' && state.Resource === ECS_RUN_TASK_SYNC)
    .map(([name]) => name);
}

export interface RunTaskParameters {
  Cluster?: string;
  TaskDefinition?: string;
  Overrides?: {
    ContainerOverrides?: { Name?: string; Environment?: { Name: string; Value: string }[] }[];
  };
}

export interface LocalTaskOptions {
  /** The config file the run uses: the task reads the same one ($STEPVAULT_CONFIG). */
  configFile: string;
  /** Stops the task (an interrupted run). */
  signal?: AbortSignal;
  /** Sees each task as it starts (tests kill it: `process.kill(-pid)` kills its whole container). */
  onStart?: (task: { pid: number; taskArn: string }) => void;
  /** Each line the task writes to stdout (its JSON log). */
  onLog?: (line: string) => void;
}

export interface StoppedTask {
  TaskArn: string;
  ClusterArn: string | undefined;
  TaskDefinitionArn: string | undefined;
  LastStatus: 'STOPPED';
  StopCode: 'EssentialContainerExited';
  Containers: { Name: string; ExitCode: number; LastStatus: 'STOPPED' }[];
}

export function runLocalTask(parameters: RunTaskParameters, options: LocalTaskOptions): Promise<StoppedTask> {
  const override = parameters.Overrides?.ContainerOverrides?.find((o) => o.Name === TASK_CONTAINER_NAME);
  const overrides = Object.fromEntries((override?.Environment ?? []).map((e) => [e.Name, e.Value]));
  const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/stepvault-local/${randomBytes(16).toString('hex')}`;
  // A process group of its own stands for the container: when the task ends, whatever it left
  // running (a dump tool of a killed task) goes with it, as it would with the container.
  const child = spawn(process.execPath, [ENTRYPOINT], {
    env: { ...process.env, STEPVAULT_CONFIG: options.configFile, ...overrides },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => {
    // Only the end is read: the last line names the error.
    stderr = (stderr + chunk.toString()).slice(-64 * 1024);
  });
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) if (line) options.onLog?.(line);
  });
  const stop = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS).unref();
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  if (child.pid !== undefined) options.onStart?.({ pid: child.pid, taskArn });

  return new Promise((resolve, reject) => {
    child.on('error', (error) => reject(taskFailed(`the task could not be started: ${error.message}`)));
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', stop);
      if (child.pid !== undefined) killGroup(child.pid);
      if (stdout) options.onLog?.(stdout);
      if (code === 0) {
        resolve({
          TaskArn: taskArn,
          ClusterArn: parameters.Cluster,
          TaskDefinitionArn: parameters.TaskDefinition,
          LastStatus: 'STOPPED',
          StopCode: 'EssentialContainerExited',
          Containers: [{ Name: TASK_CONTAINER_NAME, ExitCode: 0, LastStatus: 'STOPPED' }],
        });
        return;
      }
      const named = lastErrorLine(stderr);
      if (named && signal === null) {
        reject(new LambdaFunctionError(named.errorType, JSON.stringify(named)));
        return;
      }
      // A container killed by a signal exits 128 + its number, as ECS reports it.
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0);
      const how = signal ? `was killed by ${signal} (exit code ${exitCode})` : `exited with code ${exitCode}`;
      const said = named ? `: ${named.errorMessage}` : '';
      reject(taskFailed(`the ${TASK_CONTAINER_NAME} container of task ${taskArn} ${how} before it finished${said}`));
    });
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already: nothing was left running.
  }
}

function taskFailed(message: string): LambdaFunctionError {
  return new LambdaFunctionError(
    TASK_FAILED_ERROR,
    JSON.stringify({ errorType: TASK_FAILED_ERROR, errorMessage: message }),
  );
}

function lastErrorLine(stderr: string): { errorType: string; errorMessage: string } | undefined {
  const last = stderr.trimEnd().split('\n').at(-1) ?? '';
  try {
    const parsed = JSON.parse(last) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof parsed.errorType === 'string' && typeof parsed.errorMessage === 'string')
      return { errorType: parsed.errorType, errorMessage: parsed.errorMessage };
  } catch {
    // Not the entrypoint's line: a crash before it could say anything.
  }
  return undefined;
}
