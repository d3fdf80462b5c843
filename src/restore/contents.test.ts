import { describe, expect, it } from 'vitest';
import { ConfigError, PartialRestoreError } from '../errors.ts';
import { checkRestorable, partialRestoreError } from './contents.ts';
import type { DatabaseUrl } from './url.ts';

const url: DatabaseUrl = { family: 'postgres', host: 'db', port: 5432, user: 'u', database: 'orders_restored' };

describe('restoring into a database that holds something', () => {
  it('lets an empty or missing database through, and one that holds something only with --clean or --force', () => {
    expect(() => checkRestorable(url, { exists: false, objects: [] }, {})).not.toThrow();
    expect(() => checkRestorable(url, { exists: true, objects: [] }, {})).not.toThrow();
    const full = { exists: true, objects: ['table public.a', 'view public.b', 'function public.c', 'schema d'] };
    expect(() => checkRestorable(url, full, { clean: true })).not.toThrow();
    expect(() => checkRestorable(url, full, { force: true })).not.toThrow();
    expect(() => checkRestorable(url, full, {})).toThrow(ConfigError);
    expect(() => checkRestorable(url, full, {})).toThrow(
      'database db:5432/orders_restored is not empty (table public.a, view public.b, function public.c, … (4 objects)); nothing was changed.',
    );
  });

  it('says a database this restore created is partly restored and how to start again', () => {
    const error = partialRestoreError(
      url,
      true,
      new Error('pg_restore into orders_restored failed: permission denied'),
    );
    expect(error).toBeInstanceOf(PartialRestoreError);
    expect(error.message).toBe(
      'restore into db:5432/orders_restored failed after it had begun: pg_restore into orders_restored failed: permission denied\n' +
        'The database orders_restored was created by this restore and is partly restored. Drop it (DROP DATABASE orders_restored) and restore again once the cause is fixed.',
    );
  });

  it('does not advise --clean to a restore that already had it', () => {
    const error = partialRestoreError(
      url,
      false,
      new Error('pg_restore into orders_restored failed: permission denied'),
      { clean: true },
    );
    expect(error.message).toContain('The database orders_restored was changed (partly restored)');
    expect(error.message).toContain(
      'Drop and recreate the database and restore into it again once the cause is fixed.',
    );
    expect(error.message).not.toContain('--clean');
  });
});
