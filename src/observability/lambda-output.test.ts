/** What Lambda's stdout receives: Powertools JSON log lines and EMF documents. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rememberSecret } from '../redact.ts';
import { createLambdaLogger } from './log.ts';
import { createMetrics } from './metrics.ts';

/** Both streams, in order: Powertools sends WARN and ERROR to stderr; Lambda keeps both. */
function captureStdout(): { lines: () => Record<string, unknown>[] } {
  const written: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    written.push(chunk.toString());
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  return {
    lines: () =>
      written
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

afterEach(() => vi.restoreAllMocks());

describe('on Lambda', () => {
  it('logs JSON through Powertools, with the step’s fields on every line and secrets redacted', () => {
    const out = captureStdout();
    rememberSecret('lambda-s3cret-value');
    const log = createLambdaLogger().child({ runId: 'orders-1', target: 'orders', state: 'Dump' });
    log.info('dump started', { host: 'db.internal' });
    log.error('dump failed', { cause: 'login with lambda-s3cret-value refused', password: 'hunter2' });
    vi.restoreAllMocks();
    const [started, failed] = out.lines();
    expect(started).toMatchObject({
      level: 'INFO',
      message: 'dump started',
      service: 'stepvault',
      runId: 'orders-1',
      target: 'orders',
      state: 'Dump',
      host: 'db.internal',
    });
    expect(failed).toMatchObject({
      level: 'ERROR',
      cause: 'login with *** refused',
      password: '***',
      runId: 'orders-1',
    });
    expect(JSON.stringify(out.lines())).not.toMatch(/lambda-s3cret-value|hunter2/);
  });

  it('publishes EMF documents for CloudWatch, one per target', () => {
    const out = captureStdout();
    const metrics = createMetrics();
    metrics.add('orders', 'BackupSucceeded', 1);
    metrics.add('orders', 'SizeBytes', 1234);
    metrics.add('shop', 'BackupFailed', 1);
    metrics.flush();
    vi.restoreAllMocks();
    const documents = out.lines();
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({ target: 'orders', service: 'stepvault', BackupSucceeded: 1, SizeBytes: 1234 });
    expect(documents[0]!._aws).toMatchObject({
      CloudWatchMetrics: [{ Namespace: 'stepvault', Dimensions: [['service', 'target']] }],
    });
    expect(documents[1]).toMatchObject({ target: 'shop', BackupFailed: 1 });
  });
});
