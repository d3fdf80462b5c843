/**
 * The in-memory store is for tests only: a config file cannot name it. (Its contract: test/storage-contract.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';

describe('memory destinations', () => {
  it('are refused in a config file, with the types a user may choose', () => {
    const yaml = `destinations: { mem: { type: memory } }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, destinations: [mem] }
`;
    expect(() => parseConfig(yaml, 'stepvault.config.yml', process.cwd())).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        message: expect.stringContaining(
          'destinations.mem.type: "memory" (a string) is not supported; use one of "filesystem", "s3", "r2"',
        ),
      }),
    );
  });
});
