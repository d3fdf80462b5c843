/**
 * The Task states of a local run that are running, told as their handlers start (before the
 * executor's event for them is read, which comes later) and followed until they settle. An
 * interrupted run stops the state machine, but a handler already running goes on until it ends:
 * what it opens on a destination after the interruption looked must still be closed, so the
 * interruption waits for it (within a budget) and looks again (src/local/interrupt.ts).
 */
export class TasksUnderWay {
  private readonly running = new Set<Promise<unknown>>();
  private readonly onStart: (state: string, input: unknown) => void;

  /** `onStart` sees each Task state and its input as its handler starts. */
  constructor(onStart: (state: string, input: unknown) => void = () => undefined) {
    this.onStart = onStart;
  }

  track<T>(state: string, input: unknown, work: () => Promise<T>): Promise<T> {
    this.onStart(state, input);
    const running = work();
    this.running.add(running);
    const forget = () => this.running.delete(running);
    running.then(forget, forget);
    return running;
  }

  /** Resolves once every Task under way has settled, or after `timeoutMs`: true if they all did. */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([Promise.allSettled([...this.running]).then(() => true), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
