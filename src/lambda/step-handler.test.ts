/** The handler chain (middy, Powertools' middlewares, namedErrors) as Lambda and the local runner call it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { stepHandler, type Step } from './step-handler.ts';
import { createJsonLogger, createLambdaLogger } from '../observability/log.ts';
import { createRuntime, type Runtime } from '../runtime.ts';

const config: Config = { source: 'handler-test', targets: {}, destinations: {}, notifications: {} };

/** A context as Lambda passes it: the fields Powertools puts on log lines. */
const context = {
  functionName: 'stepvault-plan',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:stepvault-plan',
  memoryLimitInMB: '256',
  awsRequestId: 'req-7f3a',
  logGroupName: '/aws/lambda/stepvault-plan',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
};

/** Lambda's stdout and stderr, as JSON lines. */
function captureOutput(): () => Record<string, unknown>[] {
  const written: string[] = [];
  const record = (chunk: string | Uint8Array) => written.push(chunk.toString()) > 0;
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  return () =>
    written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
}

afterEach(() => vi.restoreAllMocks());

function quietRuntime(): Runtime {
  return createRuntime(config, {
    logger: () => createJsonLogger({ write: () => undefined }),
    emitMetrics: () => undefined,
  });
}

function invoke<In>(step: Step<In, unknown>, event: In, runtime: () => Runtime = quietRuntime): Promise<unknown> {
  const handler = stepHandler(step).createHandler(runtime) as (event: In, context: unknown) => Promise<unknown>;
  return handler(event, context);
}

describe('errors leaving a handler', () => {
  it('passes our named errors through unchanged', async () => {
    const thrown = new ConfigError('unknown target "nope"');
    await expect(invoke(async () => Promise.reject(thrown), {})).rejects.toBe(thrown);
  });

  it('turns a library error into a TransientError that keeps its name in the message', async () => {
    const step = async () => {
      const missing = undefined as unknown as { size: number };
      return missing.size;
    };
    const error = (await invoke(step, {}).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/^TypeError: Cannot read properties of undefined/),
    });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('turns an AWS SDK error into a TransientError named after the SDK’s error', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(invoke(async () => Promise.reject(throttled), {})).rejects.toMatchObject({
      name: 'TransientError',
      message: 'ThrottlingException: Rate exceeded',
    });
  });

  it('turns a thrown string or object into a TransientError that says what was thrown', async () => {
    await expect(invoke(async () => Promise.reject('disk on fire'), {})).rejects.toMatchObject({
      name: 'TransientError',
      message: 'a step threw "disk on fire"',
    });
    await expect(invoke(async () => Promise.reject({ code: 42 }), {})).rejects.toMatchObject({
      name: 'TransientError',
      message: 'a step threw {"code":42}',
    });
    await expect(invoke(async () => Promise.reject(undefined), {})).rejects.toMatchObject({
      name: 'TransientError',
      message: 'a step threw undefined',
    });
  });

  it('leaves running out of time to Lambda: no early timeout error of middy’s own', async () => {
    const handler = stepHandler(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return 'finished';
    }).createHandler(quietRuntime) as (event: unknown, context: unknown) => Promise<unknown>;
    await expect(handler({}, { ...context, getRemainingTimeInMillis: () => 10 })).resolves.toBe('finished');
  });

  it('returns what the step returns', async () => {
    await expect(invoke(async (event: { n: number }) => ({ doubled: event.n * 2 }), { n: 21 })).resolves.toEqual({
      doubled: 42,
    });
  });
});

describe('on Lambda', () => {
  it('puts the invocation’s context on every log line of the step', async () => {
    const lines = captureOutput();
    const runtime = createRuntime(config, { logger: (sinks) => createLambdaLogger({ sinks }) });
    await invoke(
      async (_event, rt) => rt.log.info('planned', { target: 'orders' }),
      {},
      () => runtime,
    );
    vi.restoreAllMocks();
    expect(lines().find((l) => l.message === 'planned')).toMatchObject({
      function_name: 'stepvault-plan',
      function_request_id: 'req-7f3a',
      function_arn: context.invokedFunctionArn,
      target: 'orders',
    });
  });

  it('publishes the step’s metrics as EMF after it, also when it throws, and says nothing when there are none', async () => {
    const lines = captureOutput();
    const runtime = createRuntime(config, { logger: () => createJsonLogger({ write: () => undefined }) });
    const failing: Step<unknown, never> = async (_event, rt) => {
      rt.metrics.add('orders', 'BackupFailed', 1);
      throw new ConfigError('bad');
    };
    await expect(invoke(failing, {}, () => runtime)).rejects.toMatchObject({ name: 'ConfigError' });
    await invoke(
      async () => 'nothing recorded',
      {},
      () => runtime,
    );
    vi.restoreAllMocks();
    expect(lines()).toEqual([
      expect.objectContaining({
        target: 'orders',
        service: 'stepvault',
        BackupFailed: 1,
        _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'stepvault' })] }),
      }),
    ]);
  });
});

describe('locally', () => {
  it('hands the step’s metrics to the runtime’s emitMetrics at the end of the step', async () => {
    const documents: Record<string, unknown>[] = [];
    const runtime = createRuntime(config, {
      logger: () => createJsonLogger({ write: () => undefined }),
      emitMetrics: (d) => documents.push(d),
    });
    await invoke(
      async (_event, rt) => rt.metrics.add('orders', 'BackupSucceeded', 1),
      {},
      () => runtime,
    );
    expect(documents).toEqual([expect.objectContaining({ target: 'orders', BackupSucceeded: 1 })]);
  });
});
