import { describe, expect, it } from 'vitest';
import { redact, redactDeep, rememberSecret } from './redact.ts';

describe('redaction', () => {
  it('replaces every secret this process resolved, wherever it appears', () => {
    rememberSecret('S3cr3t-Value-42');
    expect(redact('login failed with S3cr3t-Value-42 for S3cr3t-Value-42x')).toBe('login failed with *** for ***x');
  });

  it('replaces credentials in URLs and key=value pairs it was never told about', () => {
    expect(redact('could not connect to postgres://backup:hunter2@db.internal:5432/orders')).toBe(
      'could not connect to postgres://backup:***@db.internal:5432/orders',
    );
    expect(redact('PGPASSWORD=hunter2 pg_dump; password="a b"; token:abc123')).toBe(
      'PGPASSWORD=*** pg_dump; password=***; token:***',
    );
  });

  it('leaves sentences about passwords alone', () => {
    expect(redact('targets.main.password: environment variable X is not set')).toBe(
      'targets.main.password: environment variable X is not set',
    );
  });

  it('redacts nested values and secret-named keys', () => {
    expect(redactDeep({ a: ['postgres://u:p@h/d'], password: 'x', nested: { secretAccessKey: 'y', ok: 1 } })).toEqual({
      a: ['postgres://u:***@h/d'],
      password: '***',
      nested: { secretAccessKey: '***', ok: 1 },
    });
  });
});
