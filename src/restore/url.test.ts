import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { parseDatabaseUrl, redactUrlText } from './url.ts';

describe('--into URLs', () => {
  it('reads user, password, host, port and database', () => {
    expect(parseDatabaseUrl('postgres://alice:s%40cret@db.internal:5433/orders_restored')).toEqual({
      family: 'postgres',
      host: 'db.internal',
      port: 5433,
      user: 'alice',
      password: 's@cret',
      database: 'orders_restored',
    });
    expect(parseDatabaseUrl('mariadb://127.0.0.1/shop')).toEqual({
      family: 'mysql',
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      database: 'shop',
    });
  });

  it.each([
    'postgres://alice:Hunter2pw@db.internal:99999/orders',
    'postgres://alice:Hunter2pw@db internal/orders',
    'postgres://alice:Hun@ter2/pw@db.internal:54x/orders',
    '//alice:Hunter2pw@db.internal:0x/orders',
    'alice:Hunter2pw@[db.internal/orders',
    'mysql://root:Hunter2pw@[::1:3306/shop',
  ])('never echoes the password of a malformed URL: %s', (text) => {
    let message = '';
    try {
      parseDatabaseUrl(text);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^--into/);
    expect(message).not.toMatch(/Hunter2|ter2\/pw/);
  });

  it('shows the malformed URL with its password replaced', () => {
    expect(() => parseDatabaseUrl('postgres://alice:Hunter2pw@db.internal:99999/orders')).toThrow(
      '--into "postgres://alice:***@db.internal:99999/orders" is not a URL; write it as postgres://postgres@127.0.0.1:5432/orders_restored',
    );
    expect(redactUrlText('postgres://alice:Hun@ter2/pw@db.internal:54x/orders')).toBe(
      'postgres://alice:***@db.internal:54x/orders',
    );
    expect(redactUrlText('//alice:Hunter2pw@db:0x/orders')).toBe('//alice:***@db:0x/orders');
  });

  it('says which part has a bad %-escape, without the password', () => {
    expect(() => parseDatabaseUrl('postgres://alice:Hunter2%zz@db/orders')).toThrow(
      '--into "postgres://alice:***@db/orders": the password has a malformed %-escape; write a literal % as %25',
    );
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrlText('postgres://alice@db/orders')).toBe('postgres://alice@db/orders');
    expect(redactUrlText('not a url')).toBe('not a url');
  });
});
