import { describe, expect, it } from 'vitest';
import { describeProgress, percentDone, progressFields } from './progress.ts';

const MB = 1024 * 1024;

describe('progress, in words', () => {
  it('says a percent-only producer’s share, with no bytes', () => {
    expect(describeProgress({ percent: 40 }, 12)).toBe('40% done');
  });

  it('says bytes counted and their rate', () => {
    expect(describeProgress({ bytes: 10 * MB }, 4)).toBe('10.0 MB written, 2.5 MB/s');
    expect(describeProgress({ bytes: 10 * MB }, 0)).toBe('10.0 MB written');
  });

  it('says bytes of a known total with the share they make', () => {
    const progress = { bytes: 5 * MB, totalBytes: 20 * MB };
    expect(describeProgress(progress, 5, 'downloaded')).toBe('5.0 MB of 20.0 MB (25%), 1.0 MB/s');
  });

  it('says when nothing was reported', () => {
    expect(describeProgress({}, 3)).toBe('no progress reported yet');
  });
});

describe('progress, as fields', () => {
  it('holds only what the producer said: no bytes invented for a percent', () => {
    expect(progressFields({ percent: 40 }, 10)).toEqual({ percent: 40 });
    expect(progressFields({ bytes: 1000 }, 4)).toEqual({ bytes: 1000, bytesPerSecond: 250 });
    expect(progressFields({ bytes: 1000 })).toEqual({ bytes: 1000 });
    expect(progressFields({ bytes: 500, totalBytes: 1000 }, 1)).toEqual({
      bytes: 500,
      totalBytes: 1000,
      percent: 50,
      bytesPerSecond: 500,
    });
    expect(progressFields({})).toEqual({});
  });

  it('derives a percent from bytes of a total, and prefers the one the producer gave', () => {
    expect(percentDone({ bytes: 999, totalBytes: 1000 })).toBe(99);
    expect(percentDone({ bytes: 10, totalBytes: 0 })).toBeUndefined();
    expect(percentDone({ bytes: 10, totalBytes: 100, percent: 70 })).toBe(70);
  });
});
