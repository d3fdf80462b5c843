/**
 * Turns a step of the domain into a Lambda handler, through middy: Powertools' injectLambdaContext
 * puts the invocation's context on every log line, Powertools' logMetrics publishes the step's
 * metrics after it (also when it throws), and namedErrors makes whatever it throws an error the
 * state machine matches. `handler` is what Lambda calls; `createHandler` lets the local runner
 * and tests hand in their own runtime, so both run the very chain that is deployed.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { namedErrors } from '../named-errors.ts';
import { lambdaLogger } from '../observability/log.ts';
import { lambdaMetrics } from '../observability/metrics.ts';
import { runtimeFromEnvironment, type Runtime } from '../runtime.ts';

export type Step<In, Out> = (input: In, runtime: Runtime) => Promise<Out>;

export function stepHandler<In, Out>(step: Step<In, Out>) {
  const createHandler = (runtime: () => Runtime) =>
    // No early timeout: a step that runs out of time must end as Lambda's own timeout, which the
    // state machine treats as such, not as an error thrown 5 ms before it.
    middy<In, Out>({ timeoutEarlyInMillis: 0 })
      .use(injectLambdaContext(lambdaLogger))
      .use(logMetrics(lambdaMetrics))
      .use(namedErrors())
      .handler(async (event) => {
        const current = runtime();
        try {
          return await step(event, current);
        } finally {
          // Log sinks go out before Lambda freezes the process.
          await current.flush();
        }
      });
  return { createHandler, handler: createHandler(runtimeFromEnvironment) };
}
