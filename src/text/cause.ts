import { redact } from '../redact.ts';
import { describeStoppedTask, stoppedTaskOf } from '../task/stopped-task.ts';

const MAX_CAUSE = 2000;

/**
 * Step Functions hands a Lambda error over as JSON ({"errorType","errorMessage","trace"}); a
 * person wants only the message. An ECS task that stopped without success (the fargate runner)
 * is handed over as the task's description: said in a sentence (src/task/stopped-task.ts).
 * Anything else is shown as it is. Trimmed, and redacted.
 */
export function readableCause(cause: string): string {
  let text = cause;
  const task = stoppedTaskOf(cause);
  if (task) text = describeStoppedTask(task);
  else
    try {
      const parsed = JSON.parse(cause) as { errorMessage?: unknown };
      if (typeof parsed?.errorMessage === 'string') text = parsed.errorMessage;
    } catch {
      // Not JSON: a plain cause.
    }
  text = redact(text);
  return text.length > MAX_CAUSE ? `${text.slice(0, MAX_CAUSE)}… (trimmed)` : text;
}
