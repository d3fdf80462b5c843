/** A target by connection URL: each part mapped, and each wrong URL refused with what to fix, never repeating it. */
import { describe, expect, it } from 'vitest';
import { getTarget, parseConfig } from '../config/load.ts';
import { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { connectTarget } from './target-connection.ts';

const SECRET = 'S3cr#t:p@ss/w%rd';
const ENCODED = encodeURIComponent(SECRET);

function target(extra: string, engine = 'postgres') {
  const config = parseConfig(
    `destinations: { local: { type: filesystem, path: ./b } }
defaults: { destinations: [local] }
targets:
  app: { engine: ${engine}, url: "env:SV_UNIT_DATABASE_URL"${extra} }
`,
    '/x/stepvault.config.yml',
    '/x',
  );
  return getTarget(config, 'app');
}

async function connect(url: string, extra = '', engine = 'postgres') {
  const secrets = new SecretResolver({ env: async () => url });
  return connectTarget(target(extra, engine), secrets);
}

async function refusal(url: string, extra = '', engine = 'postgres'): Promise<string> {
  const error = await connect(url, extra, engine).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as Error).message;
  expect(message).not.toContain(SECRET);
  expect(message).not.toContain(ENCODED);
  return message;
}

describe('a target by connection URL', () => {
  it('maps host, port, database, user, a percent-encoded password and sslmode', async () => {
    const { target: t, password } = await connect(
      `postgresql://app%2Euser:${ENCODED}@db.example.com:6432/orders?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x`,
    );
    expect(t).toMatchObject({
      host: 'db.example.com',
      port: 6432,
      database: 'orders',
      user: 'app.user',
      tls: { mode: 'verify-full', ca: '/etc/ca.pem' },
    });
    expect(password).toBe(SECRET);
  });

  it('MySQL and MariaDB: ssl-mode as MySQL writes it, the default port, and either scheme for either engine', async () => {
    const { target: t } = await connect('mysql://root@maria.example.com/shop?ssl-mode=VERIFY_IDENTITY', '', 'mariadb');
    expect(t).toMatchObject({ engine: 'mariadb', port: 3306, database: 'shop', tls: { mode: 'verify-full' } });
    const { target: m } = await connect('mariadb://u@h/shop?ssl=true', '', 'mysql');
    expect(m.tls.mode).toBe('require');
  });

  it('Supabase: TLS is required even when the URL does not say so; the session pooler is taken', async () => {
    const { target: t } = await connect(
      `postgresql://postgres.abcdefghijklmnop:${ENCODED}@aws-0-eu-west-1.pooler.supabase.com:5432/postgres`,
    );
    expect(t).toMatchObject({ user: 'postgres.abcdefghijklmnop', port: 5432, tls: { mode: 'require' } });
  });

  it('keys beside the URL fill what it leaves out, and may repeat what it says', async () => {
    const { target: t, password } = await connect(
      'postgres://h.example.com',
      ', database: orders, user: backup, port: 5433',
    );
    expect(t).toMatchObject({ host: 'h.example.com', port: 5433, database: 'orders', user: 'backup' });
    expect(password).toBeUndefined();
    const same = await connect('postgres://backup@h.example.com/orders', ', host: H.example.com, database: orders');
    expect(same.target.database).toBe('orders');
  });

  it.each([
    [
      'a URL of another engine',
      'mysql://u@h/db',
      '',
      'targets.app.url is a mysql:// URL (MySQL), but targets.app.engine is postgres; use a postgres:// or postgresql:// URL, or set engine: mysql',
    ],
    [
      'an unknown scheme',
      'mongodb://u@h/db',
      '',
      'targets.app.url is a mongodb:// URL; a postgres target takes postgres:// or postgresql://',
    ],
    [
      'no URL at all',
      'host=db dbname=x',
      '',
      'targets.app.url does not hold a connection URL; store one such as postgres://user:password@host:5432/database',
    ],
    ['no host', 'postgres:///orders', '', 'targets.app.url names no host'],
    [
      'no database',
      'postgres://u@h.example.com:5432',
      '',
      "targets.app.url names no database: add it as the URL's path (…:5432/postgres), or set database",
    ],
    [
      'a path that is not a database name',
      'postgres://u@h/a/b',
      '',
      'targets.app.url: the path must be one database name',
    ],
    [
      'an unknown query option',
      'postgres://u@h/db?sslmode=require&pgbouncer=true',
      '',
      'targets.app.url: query option "pgbouncer" is not one stepvault reads',
    ],
    [
      'a TLS mode that is none',
      'postgres://u@h/db?sslmode=sometimes',
      '',
      'targets.app.url: sslmode=sometimes is not a TLS mode',
    ],
    [
      'a broken percent-encoding',
      'postgres://u:%zz@h/db',
      '',
      'targets.app.url: the password has a "%" that is not followed by two hex digits; encode "%" as %25',
    ],
    [
      "Supabase's transaction pooler",
      `postgres://postgres.ref:${ENCODED}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres`,
      '',
      "targets.app.url: port 6543 is Supabase's transaction pooler, which cannot hold a dump's session; use the session pooler (port 5432 on the same pooler host) or the direct host db.<project-ref>.supabase.co:5432",
    ],
    [
      'a host that contradicts host',
      'postgres://u@a.example.com/db',
      ', host: b.example.com',
      'targets.app.url and targets.app.host disagree',
    ],
    [
      'a port that contradicts port',
      'postgres://u@h:5432/db',
      ', port: 5433',
      'targets.app.url and targets.app.port disagree',
    ],
    [
      'a database that contradicts database',
      'postgres://u@h/db',
      ', database: other',
      'targets.app.url and targets.app.database disagree',
    ],
    [
      'a user that contradicts user',
      'postgres://u@h/db',
      ', user: other',
      'targets.app.url and targets.app.user disagree',
    ],
    [
      'an sslmode that contradicts tls.mode',
      'postgres://u@h/db?sslmode=disable',
      ', tls: { mode: verify-full }',
      'targets.app.url and targets.app.tls.mode disagree',
    ],
    [
      'two passwords',
      `postgres://u:${ENCODED}@h/db`,
      ', password: "env:OTHER"',
      'targets.app.url carries a password and targets.app.password names another; keep one of them',
    ],
  ])('refuses %s', async (_what, url, extra, message) => {
    expect(await refusal(url, extra)).toContain(message);
  });
});
