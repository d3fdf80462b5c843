import { describe, expect, it } from 'vitest';
import { parseConfig, getConnectedTarget } from '../config/load.ts';
import { redact } from '../redact.ts';
import { rdsAuthToken } from './iam-auth.ts';
import { mysqlDumpArgs } from './mysql.ts';

const config = (extra: string) =>
  parseConfig(
    `destinations: { local: { type: filesystem, path: ./b } }\ntargets:\n  orders: { engine: postgres, host: orders.abc.eu-west-1.rds.amazonaws.com, database: orders, user: backup, destinations: [local], iamAuth: true${extra} }\n`,
    '/x/stepvault.config.yml',
    '/x',
  );

describe('RDS IAM authentication', () => {
  it('signs a connect token for the host, port and user, and keeps it out of logs', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const target = getConnectedTarget(config(''), 'orders');
    const token = await rdsAuthToken(target, 'eu-west-1');
    expect(token).toMatch(
      /^orders\.abc\.eu-west-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=backup&X-Amz-Algorithm=AWS4-HMAC-SHA256&/,
    );
    expect(redact(`login with ${token}`)).toBe('login with ***');
  });

  it('requires TLS (prefer becomes require) and a user, and refuses a password beside it', () => {
    expect(getConnectedTarget(config(''), 'orders').tls.mode).toBe('require');
    expect(() => config(', password: "env:X"')).toThrow('targets.orders.iamAuth: and password exclude each other');
    expect(() => config(', tls: { mode: disable }')).toThrow('targets.orders.tls.mode: cannot be disable with iamAuth');
  });

  it('lets the MySQL and MariaDB clients send the token', () => {
    const target = { ...getConnectedTarget(config(''), 'orders'), engine: 'mysql' as const };
    expect(mysqlDumpArgs(target, 'mysql', 'mysql', '/f')).toContain('--enable-cleartext-plugin');
    expect(mysqlDumpArgs(target, 'mariadb', 'mariadb', '/f')).toContain('--default-auth=mysql_clear_password');
  });
});
