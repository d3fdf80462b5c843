/** SQL Server targets: what doctor does not ask is skipped with the reason, never failed or passed. */
import { describe, expect, it } from 'vitest';
import type { ConnectedTarget } from '../config/load.ts';
import { dumpToolCheck } from './dump-tool.ts';
import { loginCheck, SQL_SERVER_SKIP } from './login.ts';
import { privilegesCheck } from './privileges.ts';
import { tlsCheck } from './tls.ts';
import type { DoctorContext } from './types.ts';

describe('doctor on a SQL Server target', () => {
  it('skips TLS, login, privileges and the dump tool, saying what checks them instead', async () => {
    const target = {
      name: 'erp',
      engine: 'mssql',
      host: '127.0.0.1',
      port: 1433,
      database: 'ERP',
      tls: { mode: 'require' },
    } as ConnectedTarget;
    const context = { target, facts: { connection: { target } }, timeoutMs: 1000 } as unknown as DoctorContext;
    for (const check of [tlsCheck, loginCheck, privilegesCheck, dumpToolCheck]) {
      expect(await check.run(context)).toEqual([{ name: check.name, status: 'skip', detail: SQL_SERVER_SKIP }]);
    }
    expect(SQL_SERVER_SKIP).toContain('`stepvault run` checks the login, BACKUP DATABASE and the share');
  });
});
