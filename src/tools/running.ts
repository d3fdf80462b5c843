/**
 * The database tools this process has started and that are still running, so that an
 * interrupted `stepvault run` can stop them instead of leaving a pg_dump reading the database
 * behind it after the command has exited.
 */
import type { ChildProcess } from 'node:child_process';

const running = new Map<ChildProcess, string>();
/** Set once the process is being interrupted: a tool started after that is stopped at once. */
let stopping = false;

/** Keeps `child` in the list until it exits. */
export function trackTool<T extends ChildProcess>(child: T, name: string): T {
  if (child.exitCode !== null || child.signalCode !== null) return child;
  if (stopping) child.kill('SIGTERM');
  running.set(child, name);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** The names and process ids of the tools running now. */
export function runningTools(): { name: string; pid: number | undefined }[] {
  return [...running].map(([child, name]) => ({ name, pid: child.pid }));
}

/**
 * Stops every running tool: SIGTERM, then SIGKILL for any still there after `graceMs`. Resolves
 * when all have exited, with what was stopped.
 */
export async function stopRunningTools(graceMs: number): Promise<{ name: string; pid: number | undefined }[]> {
  stopping = true;
  const stopped = runningTools();
  const exits = [...running.keys()].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
      }),
  );
  await Promise.all(exits);
  return stopped;
}
