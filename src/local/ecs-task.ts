/**
 * A Task state that calls `ecs:runTask.sync` (the fargate runner), run on this machine: in place
 * of ECS, the task's entrypoint (src/task/entrypoint.ts) is started as a child process with the
 * environment a container would get (the config the run uses, handed over as
 * src/config/environment.ts says, and the ContainerOverrides' variables), and waited for as `.sync` waits.
 *
 * What it returns and throws is what the state machine sees from ECS: on exit 0, a task
 * description of a STOPPED task (ECS's shape, reduced to what a local run knows); otherwise
 * `States.TaskFailed` with the stopped task's description as its cause, the container's exit
 * code in it (src/task/stopped-task.ts), exactly as Step Functions reports a failed task: the
 * ASL's Retry and Catch see here what they see in AWS. One addition: a local run has no log
 * stream to point to, so the task's last stderr line (the error it named) is the container's
 * Reason. When the run is interrupted, the task is stopped as ECS stops one: SIGTERM, then SIGKILL.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_ENV, configHandover } from '../config/environment.ts';
import type { Config } from '../config/load.ts';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { ECS_RUN_TASK_SYNC, TASK_CONTAINER_NAME, TASK_FAILED_ERROR, TASK_SUBSTITUTIONS } from '../task/contract.ts';
import { LambdaFunctionError } from './lambda-emulation.ts';

/**
 * src/task/entrypoint.ts, found from this module's own place: src/local/, or a folder under dist/
 * when the command line runs from its bundle (scripts/build-cli.ts). The task runs from the sources.
 */
function taskEntrypoint(): string {
  for (let folder = path.dirname(fileURLToPath(import.meta.url)); ; folder = path.dirname(folder)) {
    const candidate = path.join(folder, 'src/task/entrypoint.ts');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(folder) === folder)
      throw new Error(`the fargate task's entrypoint (src/task/entrypoint.ts) is not above ${import.meta.url}`);
  }
}

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
  /** The config the run uses: the task reads the same (its file, or its text when it is no file). */
  config: Config;
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
  StopCode: 'EssentialContainerExited' | 'TaskFailedToStart';
  StoppedReason: string;
  Containers: { Name: string; ExitCode?: number; LastStatus: 'STOPPED'; Reason?: string }[];
}

export function runLocalTask(parameters: RunTaskParameters, options: LocalTaskOptions): Promise<StoppedTask> {
  const override = parameters.Overrides?.ContainerOverrides?.find((o) => o.Name === TASK_CONTAINER_NAME);
  const overrides = Object.fromEntries((override?.Environment ?? []).map((e) => [e.Name, e.Value]));
  const taskArn = `arn:aws:ecs:us-east-1:000000000000:task/stepvault-local/${randomBytes(16).toString('hex')}`;
  // The task's ephemeral storage: a folder of its own as its TMPDIR, removed when the task has
  // stopped, however it stopped, as Fargate discards a task's storage with the task.
  const storage = mkdtempSync(path.join(tmpdir(), 'stepvault-task-'));
  // A process group of its own stands for the container: when the task ends, whatever it left
  // running (a dump tool of a killed task) goes with it, as it would with the container.
  const config = configHandover(options.config);
  const child = spawn(process.execPath, [taskEntrypoint()], {
    env: { ...withoutConfig(process.env), ...config.env, TMPDIR: storage, ...overrides },
    ...(config.cwd && { cwd: config.cwd }),
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

  const description = (container: StoppedTask['Containers'][number], stop: Partial<StoppedTask> = {}): StoppedTask => ({
    TaskArn: taskArn,
    ClusterArn: parameters.Cluster,
    TaskDefinitionArn: parameters.TaskDefinition,
    LastStatus: 'STOPPED',
    StopCode: 'EssentialContainerExited',
    StoppedReason: 'Essential container in task exited',
    ...stop,
    Containers: [container],
  });
  return new Promise((resolve, reject) => {
    child.on('error', (error) =>
      reject(
        taskFailed(
          description(
            { Name: TASK_CONTAINER_NAME, LastStatus: 'STOPPED' },
            { StopCode: 'TaskFailedToStart', StoppedReason: `the task could not be started: ${error.message}` },
          ),
        ),
      ),
    );
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', stop);
      if (child.pid !== undefined) killGroup(child.pid);
      rmSync(storage, { recursive: true, force: true });
      if (stdout) options.onLog?.(stdout);
      // A container killed by a signal exits 128 + its number, as ECS reports it.
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0);
      const container = { Name: TASK_CONTAINER_NAME, ExitCode: exitCode, LastStatus: 'STOPPED' as const };
      if (exitCode === 0) {
        resolve(description(container));
        return;
      }
      const named = lastErrorLine(stderr);
      const reason =
        named &&
        (named.errorType === TASK_FAILED_ERROR ? named.errorMessage : `${named.errorType}: ${named.errorMessage}`);
      reject(taskFailed(description({ ...container, ...(reason && { Reason: reason }) })));
    });
  });
}

/** This process's environment without a config of its own: the task gets the run's, and only that. */
function withoutConfig(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of Object.values(CONFIG_ENV)) delete rest[name];
  return rest;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is gone already: nothing was left running.
  }
}

/** How Step Functions fails a `.sync` task whose ECS task stopped without success: the description is the cause. */
function taskFailed(task: StoppedTask): LambdaFunctionError {
  return new LambdaFunctionError(TASK_FAILED_ERROR, JSON.stringify(task));
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
