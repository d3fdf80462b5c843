import { describe, expect, it } from 'vitest';
import { compactTimestamp, dumpFileName, manifestKey, objectKey, runId, runSuffix, withPrefix } from './naming.ts';

const at = new Date('2026-03-29T01:30:05.999Z');

describe('naming', () => {
  it('lays objects out as <target>/<YYYYMMDD>/<target>-<UTC timestamp>-<run suffix>.<ext>', () => {
    const execution = 'arn:aws:states:eu-west-1:1:execution:m:one';
    const suffix = runSuffix(execution);
    expect(suffix).toMatch(/^[0-9a-f]{8}$/);
    expect(compactTimestamp(at)).toBe('20260329T013005Z');
    expect(dumpFileName('orders', at, execution, '.dump')).toBe(`orders-20260329T013005Z-${suffix}.dump`);
    expect(objectKey('orders', at, execution, '.sql.gz')).toBe(
      `orders/20260329/orders-20260329T013005Z-${suffix}.sql.gz`,
    );
    expect(manifestKey('db/orders/x.dump')).toBe('db/orders/x.dump.manifest.json');
  });

  it('joins prefixes without doubled or stray slashes', () => {
    expect(withPrefix('db/', 'orders/x')).toBe('db/orders/x');
    expect(withPrefix('/a//b/', 'orders/x')).toBe('a/b/orders/x');
    expect(withPrefix(undefined, 'orders/x')).toBe('orders/x');
  });

  it('gives two executions in the same second different run ids, and a retry the same one', () => {
    const a = runId('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:one');
    expect(a).toMatch(/^orders-20260329T013005Z-[0-9a-f]{8}$/);
    expect(runId('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:two')).not.toBe(a);
    expect(runId('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:one')).toBe(a);
  });

  it('gives two executions in the same second different object keys, and a retry the same one', () => {
    const one = objectKey('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:one', '.dump');
    expect(objectKey('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:two', '.dump')).not.toBe(one);
    expect(objectKey('orders', at, 'arn:aws:states:eu-west-1:1:execution:m:one', '.dump')).toBe(one);
  });
});
