import { redact } from '../redact.ts';

const MAX_CAUSE = 2000;

/**
 * Step Functions hands a Lambda error over as JSON ({"errorType","errorMessage","trace"}); a
 * person wants only the message. Anything else is shown as it is. Trimmed, and redacted.
 */
export function readableCause(cause: string): string {
  let text = cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') text = parsed.errorMessage;
  } catch {
    // Not JSON: a plain cause.
  }
  text = redact(text);
  return text.length > MAX_CAUSE ? `${text.slice(0, MAX_CAUSE)}… (trimmed)` : text;
}
