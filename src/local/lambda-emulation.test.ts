import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { stepHandler } from '../lambda/step-handler.ts';
import { createJsonLogger } from '../observability/log.ts';
import { createRuntime } from '../runtime.ts';
import { invokeLikeLambda, LambdaFunctionError, type LocalHandler } from './lambda-emulation.ts';

describe('invokeLikeLambda', () => {
  it('passes the event and the result across a JSON boundary, as Lambda does', async () => {
    const input = { when: new Date('2026-11-22T03:00:07Z'), gone: undefined, nested: { n: 1 } };
    let received: unknown;
    const handler = (async (event: { nested: { n: number } }) => {
      received = event;
      event.nested.n = 2;
      return { at: new Date('2026-11-22T03:00:08Z'), skipped: undefined };
    }) as LocalHandler;
    await expect(invokeLikeLambda(handler)(input)).resolves.toEqual({ at: '2026-11-22T03:00:08.000Z' });
    expect(received).toEqual({ when: '2026-11-22T03:00:07.000Z', nested: { n: 2 } });
    expect(input.nested.n).toBe(1);
    await expect(invokeLikeLambda((async () => undefined) as LocalHandler)({})).resolves.toBeNull();
  });

  it('reports a thrown error by its name, with Lambda’s JSON document as the cause', async () => {
    const handler = (async () => {
      throw new ConfigError('unknown target "nope"');
    }) as LocalHandler;
    const error = (await invokeLikeLambda(handler)({}).catch((e: unknown) => e)) as LambdaFunctionError;
    expect(error).toBeInstanceOf(LambdaFunctionError);
    expect(error.name).toBe('ConfigError');
    const cause = JSON.parse(error.message) as { errorType: string; errorMessage: string; trace: string[] };
    expect(cause).toMatchObject({ errorType: 'ConfigError', errorMessage: 'unknown target "nope"' });
    expect(cause.trace.length).toBeGreaterThan(0);
  });

  it('gives the state machine a name it matches for whatever a deployed handler throws', async () => {
    const config = { source: 'emulation-test', targets: {}, destinations: {}, notifications: {} };
    const runtime = createRuntime(config, {
      logger: () => createJsonLogger({ write: () => undefined }),
      emitMetrics: () => undefined,
    });
    const { createHandler } = stepHandler(async () => {
      throw new RangeError('Invalid time value');
    });
    const error = (await invokeLikeLambda(createHandler(() => runtime) as unknown as LocalHandler)({}).catch(
      (e: unknown) => e,
    )) as LambdaFunctionError;
    expect(error.name).toBe('TransientError');
    expect(JSON.parse(error.message)).toMatchObject({
      errorType: 'TransientError',
      errorMessage: 'RangeError: Invalid time value',
    });
  });
});
