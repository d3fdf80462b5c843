import { describe, expect, it } from 'vitest';
import { judgeRoom } from './staging.ts';

const GB = 1024 ** 3;

describe('judgeRoom', () => {
  it('fails when the staging disk has less room than the last dump took, saying both', () => {
    expect(judgeRoom('/mnt/staging', 'targets.orders.staging', 2 * GB, 3 * GB)).toEqual({
      name: 'staging',
      status: 'fail',
      detail: '/mnt/staging has 2.0 GB free, less than the last dump (3.0 GB)',
      fix: 'free space there, or set targets.orders.staging to a larger disk',
    });
  });

  it('passes with room to spare, and says so when there has been no backup to compare with', () => {
    expect(judgeRoom('/mnt/staging', 'targets.orders.staging', 3 * GB, 3 * GB).status).toBe('ok');
    expect(judgeRoom('/mnt/staging', 'targets.orders.staging', 512, undefined)).toEqual({
      name: 'staging',
      status: 'ok',
      detail: '/mnt/staging is writable; 512 B free; last dump size unknown (no manifest yet)',
    });
  });
});
