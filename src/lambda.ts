/**
 * Turns a step of the domain into a Lambda handler. `handler` is what Lambda calls;
 * `createHandler` lets the local runner and tests hand in their own runtime, so both run the
 * very function that is deployed.
 */
import { runtimeFromEnvironment, type Runtime } from './runtime.ts';

export type Step<In, Out> = (input: In, runtime: Runtime) => Promise<Out>;

export function stepHandler<In, Out>(step: Step<In, Out>) {
  const createHandler = (runtime: () => Runtime) => async (event: In): Promise<Out> => {
    const current = runtime();
    try {
      return await step(event, current);
    } finally {
      // Metrics and log sinks go out before Lambda freezes the process.
      await current.flush();
    }
  };
  return { createHandler, handler: createHandler(runtimeFromEnvironment) };
}
