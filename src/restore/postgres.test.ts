import { describe, expect, it } from 'vitest';
import { pgRestoreArgs, unexpectedRestoreErrors } from './postgres.ts';

const timeout =
  'pg_restore: error: could not execute query: ERROR:  unrecognized configuration parameter "transaction_timeout"\nCommand was: SET transaction_timeout = 0;';

describe('pg_restore errors', () => {
  it('expects the one transaction_timeout error of a pg_dump 18 archive on an older server', () => {
    expect(
      unexpectedRestoreErrors(
        `pg_restore: connecting to database for restore\n${timeout}\npg_restore: warning: errors ignored on restore: 1\n`,
      ),
    ).toEqual([]);
  });

  it('reports every other error, even next to that one', () => {
    const stderr = `${timeout}\npg_restore: error: could not execute query: ERROR:  relation "orders" already exists\nCommand was: CREATE TABLE orders ();\npg_restore: warning: errors ignored on restore: 2\n`;
    expect(unexpectedRestoreErrors(stderr)).toEqual([
      'pg_restore: error: could not execute query: ERROR:  relation "orders" already exists',
    ]);
  });

  it('builds pg_restore arguments from the URL and options', () => {
    expect(
      pgRestoreArgs({ family: 'postgres', host: 'h', port: 5433, user: 'u', database: 'd' }, '/f.dump', {
        clean: true,
        jobs: 4,
        noOwner: true,
      }),
    ).toEqual([
      "--dbname=dbname='d' host='h' port='5433' user='u'",
      '--no-password',
      '--clean',
      '--if-exists',
      '--jobs',
      '4',
      '--no-owner',
      '--no-acl',
      '/f.dump',
    ]);
  });
});
