/**
 * What Step Functions reports when an ECS task that `ecs:runTask.sync` waited for stops without
 * success: the error `States.TaskFailed`, and as its cause the stopped task's description, as
 * DescribeTasks gives it with PascalCase keys:
 *
 *   {"TaskArn":"arn:aws:ecs:…:task/<cluster>/<id>","LastStatus":"STOPPED","StopCode":"EssentialContainerExited",
 *    "StoppedReason":"Essential container in task exited",
 *    "Containers":[{"Name":"stepvault","ExitCode":11,"LastStatus":"STOPPED","Reason":"…"}], …}
 *
 * Not the error the step threw: ECS knows only the container's exit code, which the entrypoint
 * sets from the error's name (TASK_EXIT_CODES). This turns that description into the sentence a
 * person reads in the mail, `stepvault run` and `stepvault start --wait`, and says where the
 * task's own words are (its log stream).
 */
import { TASK_CONTAINER_NAME, TASK_EXIT_CODES, TASK_LOG_STREAM_PREFIX } from './contract.ts';

export interface StoppedTaskDescription {
  TaskArn?: string;
  LastStatus?: string;
  StopCode?: string;
  StoppedReason?: string;
  Containers?: { Name?: string; ExitCode?: number; LastStatus?: string; Reason?: string }[];
}

/** The description, when the cause is one (a Lambda error's cause is not). */
export function stoppedTaskOf(cause: string): StoppedTaskDescription | undefined {
  try {
    const parsed = JSON.parse(cause) as StoppedTaskDescription | null;
    if (parsed && typeof parsed.TaskArn === 'string' && Array.isArray(parsed.Containers)) return parsed;
  } catch {
    // Not JSON: not a task's description.
  }
  return undefined;
}

/** The error a container's exit code stands for, by the entrypoint's table; a signal's for 128 + its number. */
export function exitCodeMeaning(code: number): string | undefined {
  const named = Object.entries(TASK_EXIT_CODES).find(([, value]) => value === code)?.[0];
  if (named) return named;
  if (code === 137) return 'killed (SIGKILL: out of memory, or not stopped within its stop timeout)';
  if (code === 143) return 'stopped (SIGTERM)';
  if (code === 1) return 'an error the task could not name';
  return undefined;
}

/** A sentence for a person: which container, how it ended, what that means, and where its log is. */
export function describeStoppedTask(task: StoppedTaskDescription): string {
  const container = task.Containers?.find((c) => c.Name === TASK_CONTAINER_NAME) ?? task.Containers?.[0];
  const id = task.TaskArn?.split('/').at(-1) ?? '';
  const name = container?.Name ?? TASK_CONTAINER_NAME;
  const parts: string[] = [];
  if (container?.ExitCode === undefined)
    parts.push(`the ${name} container of task ${task.TaskArn} stopped without an exit code`);
  else {
    const meaning = exitCodeMeaning(container.ExitCode);
    parts.push(
      `the ${name} container of task ${task.TaskArn} exited with code ${container.ExitCode}${meaning ? ` (${meaning})` : ''}`,
    );
  }
  if (container?.Reason) parts.push(container.Reason);
  const stopped = [task.StopCode, task.StoppedReason].filter(Boolean).join(': ');
  if (stopped) parts.push(`ECS: ${stopped}`);
  const said = parts.join('; ');
  return id ? `${said}; the task's log: stream ${TASK_LOG_STREAM_PREFIX}/${name}/${id}` : said;
}
