import { describe, expect, it } from 'vitest';
import { describeSizeAnomaly, sizeAnomaly } from './size-anomaly.ts';

const previous = { size: 1000, key: 'db/main/old.dump', createdAt: '2026-11-01T03:00:00.000Z', compression: 'zstd' };

describe('sizeAnomaly', () => {
  it('is nothing within the threshold, either way, and something at it', () => {
    expect(sizeAnomaly({ size: 501, compression: 'zstd' }, previous, 50)).toBeUndefined();
    expect(sizeAnomaly({ size: 1499, compression: 'zstd' }, previous, 50)).toBeUndefined();
    expect(sizeAnomaly({ size: 500, compression: 'zstd' }, previous, 50)).toMatchObject({
      direction: 'smaller',
      changePercent: 50,
    });
    expect(sizeAnomaly({ size: 1500, compression: 'zstd' }, previous, 50)).toMatchObject({
      direction: 'larger',
      changePercent: 50,
    });
  });

  it('names the previous backup, and a change of compression that may explain the jump', () => {
    const anomaly = sizeAnomaly({ size: 300, compression: 'zstd' }, { ...previous, compression: 'custom' }, 25);
    expect(anomaly).toEqual({
      direction: 'smaller',
      changePercent: 70,
      thresholdPercent: 25,
      size: 300,
      previousSize: 1000,
      previousKey: 'db/main/old.dump',
      previousCreatedAt: '2026-11-01T03:00:00.000Z',
      previousCompression: 'custom',
    });
    expect(describeSizeAnomaly(anomaly!, (n) => `${n} B`)).toBe(
      '70% smaller than the previous backup (300 B against 1000 B on 2026-11-01T03:00:00.000Z; alerts.sizeChangePercent is 25); the previous one was compressed with custom, which may explain it',
    );
  });

  it('takes any dump after an empty one as larger, and two empty ones as alike', () => {
    expect(sizeAnomaly({ size: 10, compression: 'zstd' }, { ...previous, size: 0 }, 1000)).toMatchObject({
      direction: 'larger',
    });
    expect(
      describeSizeAnomaly(sizeAnomaly({ size: 10, compression: 'zstd' }, { ...previous, size: 0 }, 5)!, String),
    ).toMatch(/^infinitely larger/);
    expect(sizeAnomaly({ size: 0, compression: 'zstd' }, { ...previous, size: 0 }, 1)).toBeUndefined();
  });
});
