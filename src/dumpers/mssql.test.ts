import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { backupStatement, classifyMssqlError, quoteIdentifier, serverPath, verifyStatement } from './mssql.ts';

describe('SQL Server statements', () => {
  it('builds BACKUP DATABASE with the options, names bracketed and paths as Unicode literals', () => {
    expect(
      backupStatement('orders', '\\\\fs\\stepvault\\run-1\\orders.bak', { copyOnly: true, compression: true }),
    ).toBe(
      "BACKUP DATABASE [orders] TO DISK = N'\\\\fs\\stepvault\\run-1\\orders.bak' WITH COPY_ONLY, COMPRESSION, CHECKSUM, STATS = 5, INIT, FORMAT",
    );
    expect(backupStatement('orders', '/b/o.bak', { copyOnly: false, compression: false })).toBe(
      "BACKUP DATABASE [orders] TO DISK = N'/b/o.bak' WITH CHECKSUM, STATS = 5, INIT, FORMAT",
    );
  });

  it('quotes a database name with ], quotes and unicode, and a path with a quote, safely', () => {
    expect(quoteIdentifier('ord]ers \'Zürich\' "x"', 'database')).toBe('[ord]]ers \'Zürich\' "x"]');
    expect(backupStatement("a]b'c", "\\\\fs\\it's\\a.bak", { copyOnly: true, compression: false })).toBe(
      "BACKUP DATABASE [a]]b'c] TO DISK = N'\\\\fs\\it''s\\a.bak' WITH COPY_ONLY, CHECKSUM, STATS = 5, INIT, FORMAT",
    );
    expect(verifyStatement("/b/it's.bak")).toBe("RESTORE VERIFYONLY FROM DISK = N'/b/it''s.bak' WITH CHECKSUM");
    expect(() => quoteIdentifier('bad\nname', 'database')).toThrow('database "bad\nname" cannot be a SQL Server name');
    expect(() => quoteIdentifier('x'.repeat(129), 'database')).toThrow('cannot be a SQL Server name');
  });

  it('maps a staged file to the share as SQL Server sees it', () => {
    expect(serverPath('/mnt/staging/run-1/orders.bak', '/mnt/staging', '\\\\fs\\stepvault\\')).toBe(
      '\\\\fs\\stepvault\\run-1\\orders.bak',
    );
    expect(serverPath('/mnt/staging/run-1/orders.bak', '/mnt/staging', '/var/opt/mssql/backup')).toBe(
      '/var/opt/mssql/backup/run-1/orders.bak',
    );
    expect(() => serverPath('/elsewhere/x.bak', '/mnt/staging', '/b')).toThrow('is not under the staging folder');
  });

  it('tells login failures (not retried) from network failures (retried) and backup errors', () => {
    const target = { name: 'orders', host: 'h', port: 1433, database: 'orders' } as never;
    expect(
      classifyMssqlError(Object.assign(new Error("Login failed for user 'backup'."), { code: 'ELOGIN' }), target).name,
    ).toBe('ConfigError');
    expect(
      classifyMssqlError(
        Object.assign(new Error('Failed to connect to h:1433 - connect ECONNREFUSED'), { code: 'ESOCKET' }),
        target,
      ).name,
    ).toBe('ConnectionError');
    const backup = classifyMssqlError(
      Object.assign(
        new Error("Cannot open backup device '\\\\fs\\x.bak'. Operating system error 5(Access is denied.)."),
        { number: 3201 },
      ),
      target,
    );
    expect(backup.name).toBe('DumpError');
    expect(backup.message).toContain('Operating system error 5(Access is denied.)');
    // Error 3202 with Windows' "disk full" (112): the staging share is full.
    const full = classifyMssqlError(
      Object.assign(new Error('Write on "\\\\fs\\x.bak" failed: 112(There is not enough space on the disk.)'), {
        number: 3202,
      }),
      target,
    );
    expect(full.name).toBe('DumpError');
    expect(full.message).toMatch(
      /^staging is full: SQL Server could not write the backup of .*There is not enough space on the disk/,
    );
  });

  it('needs the share mapping for engine mssql, at Plan time', () => {
    expect(() =>
      parseConfig(
        'destinations: { l: { type: filesystem, path: ./b } }\ntargets:\n  orders: { engine: mssql, host: h, database: orders, destinations: [l] }\n',
        '/x/stepvault.config.yml',
        '/x',
      ),
    ).toThrow('targets.orders.mssql: is required for engine mssql: say where SQL Server writes the backup');
  });
});
