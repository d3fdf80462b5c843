import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.ts';

describe('stepvault.config.example.yml', () => {
  it('is a valid config, so that copying it is a working start', () => {
    const config = loadConfig(path.join(import.meta.dirname, '../../stepvault.config.example.yml'));
    expect(Object.keys(config.targets)).toEqual(['orders', 'shop']);
    expect(config.targets.shop).toMatchObject({
      port: 3306,
      dump: { compression: 'gzip' },
      retention: { keepLast: 7 },
    });
  });
});
