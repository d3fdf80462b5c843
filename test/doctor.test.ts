/**
 * `stepvault doctor` against the real servers: a PostgreSQL and a MariaDB user missing each
 * privilege in turn (each gives its line and the GRANT that adds it, and running that GRANT makes
 * the line pass), a destination that refuses writes, a notifier that cannot send, a wrong host,
 * a closed port, and a healthy target that exits 0.
 */
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as sesLocal from 'aws-ses-v2-local';
import { main } from '../src/cli.ts';
import { formatBytes } from '../src/text/format.ts';
import { configFor, createWorkspace, storedBackup } from './helpers/workspace.ts';
import type { CheckResult } from '../src/doctor/types.ts';
import { runCli } from './helpers/cli.ts';
import { writeTool } from './helpers/fake-tools.ts';
import { type PgCluster, startCluster } from './helpers/pg-cluster.ts';
import { startSmtpServer } from './helpers/smtp-server.ts';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.ts';
import { MARIADB, mariadb } from './helpers/mariadb.ts';
import { type MariadbServer, startMariadbServer } from './helpers/mariadb-server.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { type S3TestServer, s3Destination, startS3Server } from './helpers/s3-server.ts';

const pgDatabase = uniqueName('doctor_pg');
const pgUser = uniqueName('doctor_user');
const mariaDatabase = uniqueName('doctor_maria');
const mariaUser = uniqueName('doctor_user');
const PASSWORD = 'doctor-Secret-1';
let dir: string;
let s3: S3TestServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-doctor-'));
  process.env.STEPVAULT_TEST_DOCTOR_PASSWORD = PASSWORD;
  s3 = await startS3Server(['doctor-bucket']);

  await createDatabase(pgDatabase);
  await psql(
    pgDatabase,
    `CREATE SCHEMA sales;
     CREATE TABLE public.customers (id serial PRIMARY KEY, name text);
     CREATE TABLE sales.orders (id bigint PRIMARY KEY, total numeric);
     CREATE SEQUENCE sales.invoice_numbers;
     CREATE VIEW public.names AS SELECT name FROM public.customers;
     SELECT lo_from_bytea(0, 'a large object');
     CREATE ROLE ${pgUser} LOGIN PASSWORD '${PASSWORD}';`,
  );
  await grantAllPostgres();

  await mariadb(undefined, `CREATE DATABASE ${mariaDatabase}`);
  await mariadb(
    mariaDatabase,
    `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20));
     CREATE VIEW item_names AS SELECT name FROM items;
     CREATE TRIGGER items_upper BEFORE INSERT ON items FOR EACH ROW SET NEW.name = UPPER(NEW.name);
     CREATE PROCEDURE count_items() SELECT COUNT(*) FROM items;
     CREATE USER '${mariaUser}'@'%' IDENTIFIED BY '${PASSWORD}';`,
  );
  await grantAllMaria();
});

afterAll(async () => {
  await dropDatabase(pgDatabase).catch(() => undefined);
  await psql('postgres', `DROP ROLE IF EXISTS ${pgUser}`).catch(() => undefined);
  await mariadb(undefined, `DROP DATABASE IF EXISTS ${mariaDatabase}`).catch(() => undefined);
  await mariadb(undefined, `DROP USER IF EXISTS '${mariaUser}'@'%'`).catch(() => undefined);
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function grantAllPostgres(): Promise<void> {
  await psql(
    pgDatabase,
    `GRANT USAGE ON SCHEMA sales TO ${pgUser};
     GRANT SELECT ON ALL TABLES IN SCHEMA public, sales TO ${pgUser};
     GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, sales TO ${pgUser};
     DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP
       EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO ${pgUser}', o); END LOOP; END $$;`,
  );
}

async function grantAllMaria(): Promise<void> {
  await mariadb(
    undefined,
    `GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON ${mariaDatabase}.* TO '${mariaUser}'@'%';
     GRANT SELECT ON mysql.proc TO '${mariaUser}'@'%'`,
  );
}

const pgTarget = () => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  database: pgDatabase,
  user: pgUser,
  password: 'env:STEPVAULT_TEST_DOCTOR_PASSWORD',
  schedule: { cron: '0 3 * * ? *', timezone: 'Europe/Lisbon' },
});

const mariaTarget = () => ({
  engine: 'mariadb',
  host: MARIADB.host,
  port: MARIADB.port,
  database: mariaDatabase,
  user: mariaUser,
  password: 'env:STEPVAULT_TEST_DOCTOR_PASSWORD',
});

function config(target: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    defaults: { staging: './staging', destinations: ['local'], notify: ['desk'] },
    destinations: { local: { type: 'filesystem', path: './backups', prefix: 'db' } },
    notifications: { desk: { type: 'outbox', path: './outbox' } },
    targets: { main: target },
    ...extra,
  };
}

let configs = 0;

/** Runs `stepvault doctor --json` in this process; its exit code and its lines. */
async function doctor(
  configuration: unknown,
): Promise<{ code: number; checks: CheckResult[]; byName: Map<string, CheckResult> }> {
  const file = path.join(dir, `doctor-${++configs}.yml`);
  await writeFile(file, stringify(configuration));
  let stdout = '';
  let stderr = '';
  const code = await main(
    ['doctor', '--config', file, '--json'],
    {
      write(text: string) {
        stdout += text;
        return true;
      },
    } as unknown as typeof process.stdout,
    {
      write(text: string) {
        stderr += text;
        return true;
      },
    } as unknown as typeof process.stderr,
  );
  expect(stderr).toBe('');
  const report = JSON.parse(stdout) as { target: string; ok: boolean; checks: CheckResult[] };
  expect(report.target).toBe('main');
  expect(report.ok).toBe(code === 0);
  // The --json shape: every line is a name, a status, a detail, and a fix only on a failure that has one.
  for (const check of report.checks) {
    expect(['ok', 'fail', 'skip']).toContain(check.status);
    expect(Object.keys(check)).toEqual(['name', 'status', 'detail', ...(check.fix === undefined ? [] : ['fix'])]);
    expect(typeof check.detail).toBe('string');
  }
  return { code, checks: report.checks, byName: new Map(report.checks.map((c) => [c.name, c])) };
}

const line = (result: { byName: Map<string, CheckResult> }, name: string) => {
  const found = result.byName.get(name);
  if (!found) throw new Error(`no line "${name}" in ${[...result.byName.keys()].join(', ')}`);
  return found;
};

describe('doctor, PostgreSQL', () => {
  it('a healthy target passes every check and exits 0 through the real command line', async () => {
    const file = path.join(dir, 'healthy-pg.yml');
    await writeFile(file, stringify(config(pgTarget())));
    const { code, stdout } = await runCli(['doctor', '--config', file], { cwd: dir });
    expect(code, stdout).toBe(0);
    expect(stdout).toContain(`✓ login`);
    expect(stdout).toContain(`${pgUser}@${PG.host}:${PG.port}/${pgDatabase} logged in as ${pgUser}`);
    expect(stdout).toMatch(/✓ privileges: tables +SELECT on all 2\n/);
    expect(stdout).toMatch(/✓ privileges: sequences +SELECT on all 2\n/);
    expect(stdout).toMatch(/✓ privileges: large objects +SELECT on all 1\n/);
    expect(stdout).toMatch(/✓ schedule +next: \d{4}-\d\d-\d\d 03:00 Europe\/Lisbon/);
    expect(stdout).toMatch(/all \d+ checks passed\n$/);
    // Nothing of the probes is left: no probe object, no staging folder, no outbox folder.
    expect(await readdir(path.join(dir, 'backups/db/main'))).toEqual([]);
    expect((await readdir(dir)).filter((f) => f === 'staging' || f === 'outbox')).toEqual([]);
  });

  it('staging is measured against the size of the last backup, read from its manifest', async () => {
    const workspace = await createWorkspace();
    try {
      await workspace.writeConfig(configFor({ ...pgTarget(), user: PG.user, password: undefined }));
      const run = await workspace.run('main');
      expect(run.status).toBe('SUCCEEDED');
      const size = storedBackup(run).size;
      let stdout = '';
      const code = await main(['doctor', '--config', workspace.configFile, '--json'], {
        write(text: string) {
          stdout += text;
          return true;
        },
      } as unknown as typeof process.stdout);
      expect(code).toBe(0);
      const staging = (JSON.parse(stdout) as { checks: CheckResult[] }).checks.find((c) => c.name === 'staging')!;
      expect(staging.detail).toMatch(new RegExp(`free, last dump ${formatBytes(size).replace('.', '\\.')}$`));
    } finally {
      await workspace.remove();
    }
  });

  const cases = [
    {
      missing: 'SELECT on a table',
      revoke: `REVOKE SELECT ON sales.orders FROM ${pgUser}`,
      line: 'privileges: tables',
      detail: `lacks SELECT on 1 of 2 tables: sales.orders`,
      fix: `GRANT SELECT ON TABLE sales.orders TO ${pgUser};`,
    },
    {
      missing: 'SELECT on a sequence',
      revoke: `REVOKE SELECT ON SEQUENCE sales.invoice_numbers FROM ${pgUser}`,
      line: 'privileges: sequences',
      detail: 'lacks SELECT on 1 of 2 sequences: sales.invoice_numbers',
      fix: `GRANT SELECT ON SEQUENCE sales.invoice_numbers TO ${pgUser};`,
    },
    {
      missing: 'USAGE on a schema',
      revoke: `REVOKE USAGE ON SCHEMA sales FROM ${pgUser}`,
      line: 'privileges: schemas',
      detail: 'lacks USAGE on 1 of 2 schemas: sales',
      fix: `GRANT USAGE ON SCHEMA sales TO ${pgUser};`,
    },
    {
      missing: 'SELECT on a large object',
      revoke: `DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP
         EXECUTE format('REVOKE SELECT ON LARGE OBJECT %s FROM ${pgUser}', o); END LOOP; END $$`,
      line: 'privileges: large objects',
      detail: 'lacks SELECT on 1 of 1 large objects: ',
      fix: 'GRANT SELECT ON LARGE OBJECT ',
    },
    {
      missing: 'an exemption from row-level security',
      revoke: 'ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY',
      line: 'privileges: row security',
      detail: `the policies of 1 table(s) would hide rows from ${pgUser}, and pg_dump stops there: public.customers`,
      fix: `ALTER ROLE ${pgUser} BYPASSRLS; (as a superuser)`,
    },
  ];

  it.each(cases)('a user without $missing gets its line and the GRANT that fixes it', async (c) => {
    await grantAllPostgres();
    await psql(pgDatabase, c.revoke);
    const result = await doctor(config(pgTarget()));
    expect(result.code).toBe(1);
    const failed = result.checks.filter((r) => r.status === 'fail');
    expect(failed.map((r) => r.name)).toEqual([c.line]);
    expect(line(result, c.line).detail).toContain(c.detail);
    const fix = line(result, c.line).fix!;
    expect(fix).toContain(c.fix);
    // The statement doctor gives is the fix: run as it is written, the line passes.
    // Without the alternative or the note in parentheses after it.
    await psql(pgDatabase, fix.replace(/ \((or|as) .*\)$/, ''));
    const after = await doctor(config(pgTarget()));
    expect(after.code, JSON.stringify(after.checks)).toBe(0);
    expect(line(after, c.line).status).toBe('ok');
  });

  it('a pg_dump older than the server fails the dump tool line, naming the version to use', async () => {
    const tools = await mkdtemp(path.join(tmpdir(), 'stepvault-doctor-tools-'));
    await writeTool(tools, 'pg_dump', 'echo "pg_dump (PostgreSQL) 12.22"');
    const before = process.env.STEPVAULT_TOOLS_DIR;
    process.env.STEPVAULT_TOOLS_DIR = tools;
    try {
      const result = await doctor(config(pgTarget()));
      const server = line(result, 'login').detail.replace(/^.*PostgreSQL /, '');
      expect(line(result, 'dump tool')).toEqual({
        name: 'dump tool',
        status: 'fail',
        detail: `pg_dump 12.22 (${tools}) cannot dump the PostgreSQL ${server} server: pg_dump must be as new as the server`,
        fix: `use pg_dump ${parseInt(server, 10)} or newer: deploy the dbtools layer, point STEPVAULT_TOOLS_DIR at a built layer, or install postgresql-client-${parseInt(server, 10)}`,
      });
      expect(result.code).toBe(1);
    } finally {
      if (before === undefined) delete process.env.STEPVAULT_TOOLS_DIR;
      else process.env.STEPVAULT_TOOLS_DIR = before;
      await rm(tools, { recursive: true, force: true });
    }
  });

  it('a target configured by url is checked through the URL it resolves to', async () => {
    process.env.STEPVAULT_TEST_DOCTOR_URL = `postgresql://${pgUser}:${PASSWORD}@${PG.host}:${PG.port}/${pgDatabase}?sslmode=prefer`;
    const result = await doctor(config({ engine: 'postgres', url: 'env:STEPVAULT_TEST_DOCTOR_URL' }));
    expect(result.code, JSON.stringify(result.checks)).toBe(0);
    expect(line(result, 'secret targets.main.url').status).toBe('ok');
    expect(line(result, 'connection').detail).toBe(
      `${pgUser}@${PG.host}:${PG.port}/${pgDatabase}, tls.mode prefer (from the URL)`,
    );
    // The URL carries a password: no line repeats it.
    expect(JSON.stringify(result.checks)).not.toContain(PASSWORD);
  });

  it('a database the user may not connect to fails the login with the GRANT CONNECT that fixes it', async () => {
    await psql(pgDatabase, `REVOKE CONNECT ON DATABASE ${pgDatabase} FROM PUBLIC`);
    try {
      const result = await doctor(config(pgTarget()));
      expect(line(result, 'login').status).toBe('fail');
      expect(line(result, 'login').detail).toContain(`permission denied for database "${pgDatabase}"`);
      expect(line(result, 'login').fix).toBe(`GRANT CONNECT ON DATABASE ${pgDatabase} TO ${pgUser};`);
      await psql(pgDatabase, line(result, 'login').fix!);
      expect((await doctor(config(pgTarget()))).code).toBe(0);
    } finally {
      await psql(pgDatabase, `GRANT CONNECT ON DATABASE ${pgDatabase} TO PUBLIC`);
    }
  });

  it('a database that does not exist fails the login, pointing at targets.<name>.database', async () => {
    const result = await doctor(config({ ...pgTarget(), database: 'no_such_database_doctor' }));
    expect(line(result, 'login').detail).toContain('database "no_such_database_doctor" does not exist');
    expect(line(result, 'login').fix).toBe('check targets.main.database: the database must exist');
  });

  it('a wrong password fails the login with the server’s words, and the checks after it are skipped', async () => {
    process.env.STEPVAULT_TEST_DOCTOR_WRONG = 'not-the-password';
    // The local server trusts every login: a role that does not exist is what it refuses.
    const result = await doctor(config({ ...pgTarget(), user: 'no_such_role_doctor' }));
    expect(result.code).toBe(1);
    expect(line(result, 'login')).toMatchObject({ status: 'fail' });
    expect(line(result, 'login').detail).toContain('role "no_such_role_doctor" does not exist');
    expect(line(result, 'login').fix).toBe('check user and password of targets.main');
    expect(line(result, 'privileges')).toEqual({
      name: 'privileges',
      status: 'skip',
      detail: 'not checked: login did not pass',
    });
    expect(line(result, 'dump tool').status).toBe('skip');
    expect(line(result, 'destination local').status).toBe('ok');
  });
});

describe('doctor, MariaDB', () => {
  it('a user with every grant the dump needs passes', async () => {
    const result = await doctor(config(mariaTarget()));
    expect(result.code, JSON.stringify(result.checks)).toBe(0);
    expect(line(result, 'login').detail).toContain(`logged in as ${mariaUser}@%`);
    expect(line(result, 'dump tool').detail).toMatch(/^mariadb-dump \S+ \(PATH\) for server 10\.11/);
  });

  const cases = [
    { privilege: 'SELECT', fix: `GRANT SELECT ON \`${mariaDatabase}\`.* TO '${mariaUser}'@'%';` },
    { privilege: 'SHOW VIEW', fix: `GRANT SHOW VIEW ON \`${mariaDatabase}\`.* TO '${mariaUser}'@'%';` },
    { privilege: 'TRIGGER', fix: `GRANT TRIGGER ON \`${mariaDatabase}\`.* TO '${mariaUser}'@'%';` },
    { privilege: 'EVENT', fix: `GRANT EVENT ON \`${mariaDatabase}\`.* TO '${mariaUser}'@'%';` },
  ];

  it.each(cases)('a user without $privilege gets its line and the GRANT that fixes it', async (c) => {
    await grantAllMaria();
    await mariadb(undefined, `REVOKE ${c.privilege} ON ${mariaDatabase}.* FROM '${mariaUser}'@'%'`);
    const result = await doctor(config(mariaTarget()));
    expect(result.code).toBe(1);
    expect(result.checks.filter((r) => r.status === 'fail').map((r) => r.name)).toEqual([`privileges: ${c.privilege}`]);
    expect(line(result, `privileges: ${c.privilege}`).detail).toContain(
      `'${mariaUser}'@'%' lacks ${c.privilege} on \`${mariaDatabase}\`.*`,
    );
    expect(line(result, `privileges: ${c.privilege}`).fix).toBe(c.fix);
    await mariadb(undefined, c.fix);
    expect((await doctor(config(mariaTarget()))).code).toBe(0);
  });

  it('a database that does not exist, or that the user may not see, fails the login line', async () => {
    const result = await doctor(config({ ...mariaTarget(), database: 'no_such_database_doctor' }));
    expect(line(result, 'login')).toEqual({
      name: 'login',
      status: 'fail',
      detail: `${mariaUser}@${MARIADB.host}:${MARIADB.port}/no_such_database_doctor: logged in as ${mariaUser}@%, but database no_such_database_doctor does not exist or ${mariaUser}@% has no privilege on it`,
      fix: 'check targets.main.database, or GRANT SELECT ON `no_such_database_doctor`.* TO the user',
    });
    expect(line(result, 'privileges').status).toBe('skip');
  });

  it('a user who may not read routine bodies gets the grant of this server version', async () => {
    await mariadb(undefined, `REVOKE SELECT ON mysql.proc FROM '${mariaUser}'@'%'`);
    const result = await doctor(config(mariaTarget()));
    expect(result.code).toBe(1);
    expect(line(result, 'privileges: routines')).toMatchObject({
      status: 'fail',
      fix: `GRANT SELECT ON mysql.proc TO '${mariaUser}'@'%';`,
    });
    await mariadb(undefined, line(result, 'privileges: routines').fix!);
    expect((await doctor(config(mariaTarget()))).code).toBe(0);
  });

  it('tls.mode require against a server without TLS fails before any login', async () => {
    const result = await doctor(config({ ...mariaTarget(), tls: { mode: 'require' } }));
    expect(line(result, 'tls')).toEqual({
      name: 'tls',
      status: 'fail',
      detail: `the server at ${MARIADB.host}:${MARIADB.port} offers no TLS, and tls.mode is require`,
      fix: 'enable TLS on the server, or lower targets.main.tls.mode to prefer',
    });
    expect(line(result, 'login').status).toBe('skip');
  });
});

describe('doctor, TLS against a server that offers it', () => {
  let cluster: PgCluster;
  let certificate: TestCertificate;

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    cluster = await startCluster({ tls: { cert: certificate.cert, key: certificate.key } });
  });

  afterAll(async () => {
    await cluster?.remove();
    await certificate?.remove();
  });

  const tlsTarget = (tls: Record<string, unknown>) => ({
    engine: 'postgres',
    host: '127.0.0.1',
    port: cluster.port,
    database: 'postgres',
    user: 'postgres',
    tls,
  });

  it('verify-full with the CA that signed the certificate verifies it and its name, and the login goes over it', async () => {
    const result = await doctor(config(tlsTarget({ mode: 'verify-full', ca: certificate.caFile })));
    expect(line(result, 'tls')).toEqual({
      name: 'tls',
      status: 'ok',
      detail: 'TLSv1.3 handshake; certificate and host name verified',
    });
    expect(line(result, 'login').status).toBe('ok');
    expect(result.code, JSON.stringify(result.checks)).toBe(0);
  });

  it('require encrypts without asking who signed the certificate', async () => {
    const result = await doctor(config(tlsTarget({ mode: 'require' })));
    expect(line(result, 'tls').detail).toBe('TLSv1.3 handshake; certificate not verified (tls.mode require)');
  });

  it('verify-ca without tls.ca cannot verify a private certificate, and says to set tls.ca', async () => {
    const result = await doctor(config(tlsTarget({ mode: 'verify-ca' })));
    expect(result.code).toBe(1);
    expect(line(result, 'tls').status).toBe('fail');
    expect(line(result, 'tls').detail).toBe(
      `the TLS handshake with 127.0.0.1:${cluster.port} failed: self-signed certificate`,
    );
    expect(line(result, 'tls').fix).toBe(
      "set targets.main.tls.ca to the CA bundle that signed the server's certificate (e.g. the RDS bundle)",
    );
    expect(line(result, 'login').detail).toBe('not checked: tls did not pass');
  });
});

describe('doctor, TLS against a MariaDB server that offers it', () => {
  let server: MariadbServer;
  let certificate: TestCertificate;

  beforeAll(async () => {
    certificate = await selfSignedCertificate();
    server = await startMariadbServer({ tls: { cert: certificate.cert, key: certificate.key } });
  });

  afterAll(async () => {
    await server?.stop();
    await certificate?.remove();
  });

  const tlsTarget = (tls: Record<string, unknown>) => ({
    engine: 'mariadb',
    host: '127.0.0.1',
    port: server.port,
    database: 'mysql',
    user: 'root',
    tls,
  });

  it("verify-full after MySQL's own SSL request verifies certificate and name, and the login goes over it", async () => {
    const result = await doctor(config(tlsTarget({ mode: 'verify-full', ca: certificate.caFile })));
    expect(line(result, 'tls').detail).toBe('TLSv1.3 handshake; certificate and host name verified');
    expect(line(result, 'login').status).toBe('ok');
    expect(result.code, JSON.stringify(result.checks)).toBe(0);
  });

  it('verify-ca without tls.ca fails the handshake and skips the login', async () => {
    const result = await doctor(config(tlsTarget({ mode: 'verify-ca' })));
    expect(line(result, 'tls').detail).toBe(
      `the TLS handshake with 127.0.0.1:${server.port} failed: self-signed certificate`,
    );
    expect(line(result, 'login').status).toBe('skip');
  });
});

describe('doctor, the way to the server', () => {
  it('a host that does not resolve fails DNS and skips what needs it', async () => {
    const result = await doctor(config({ ...pgTarget(), host: 'no-such-host.invalid' }));
    expect(result.code).toBe(1);
    expect(line(result, 'dns')).toMatchObject({
      status: 'fail',
      detail: 'no-such-host.invalid does not resolve (ENOTFOUND)',
    });
    expect(line(result, 'tcp').detail).toBe('not checked: dns did not pass');
  });

  it('a closed port fails TCP, naming host:port', async () => {
    const port = await closedPort();
    const result = await doctor(config({ ...pgTarget(), port }));
    expect(line(result, 'tcp')).toMatchObject({
      status: 'fail',
      detail: `127.0.0.1:${port} refused the connection (ECONNREFUSED)`,
    });
    expect(line(result, 'tcp').fix).toContain('check targets.main.port');
    expect(line(result, 'tls').detail).toBe('not checked: tcp did not pass');
  });

  it('a secret that does not resolve names its config path; the rest is still checked', async () => {
    const result = await doctor(config({ ...pgTarget(), password: 'env:STEPVAULT_TEST_DOCTOR_UNSET' }));
    expect(line(result, 'secret targets.main.password')).toEqual({
      name: 'secret targets.main.password',
      status: 'fail',
      detail:
        'targets.main.password: environment variable STEPVAULT_TEST_DOCTOR_UNSET is not set; export it before the run (env:STEPVAULT_TEST_DOCTOR_UNSET)',
      fix: 'export STEPVAULT_TEST_DOCTOR_UNSET=… before the run',
    });
    expect(line(result, 'tcp').status).toBe('ok');
    expect(line(result, 'login').status).toBe('fail');
  });
});

describe('doctor, destinations and notifiers', () => {
  it('an S3 bucket takes the probe and gives nothing back afterwards', async () => {
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
        destinations: { remote: s3Destination(s3, 'doctor-bucket', { prefix: 'db' }) },
      }),
    );
    expect(line(result, 'destination remote')).toMatchObject({
      status: 'ok',
      detail: 's3://doctor-bucket/db/main/: write, read, list and delete work',
    });
    expect(await s3Objects('doctor-bucket')).toEqual([]);
  });

  it('an absent bucket and a folder under a file refuse the write, each with its line', async () => {
    await writeFile(path.join(dir, 'a-file'), 'not a folder');
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging', destinations: ['gone', 'blocked'], notify: ['desk'] },
        destinations: {
          gone: s3Destination(s3, 'no-such-bucket'),
          blocked: { type: 'filesystem', path: './a-file/backups' },
        },
      }),
    );
    expect(result.code).toBe(1);
    expect(line(result, 'destination gone').detail).toMatch(/^cannot write: .*(NoSuchBucket|does not exist)/);
    expect(line(result, 'destination gone').fix).toContain('destinations.gone: let the backup role write there');
    expect(line(result, 'destination blocked').detail).toMatch(/^cannot write: .*/);
  });

  it('a staging folder that cannot be made fails its line and names the setting', async () => {
    await writeFile(path.join(dir, 'staging-file'), 'not a folder');
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging-file/staging', destinations: ['local'], notify: ['desk'] },
      }),
    );
    expect(line(result, 'staging').status).toBe('fail');
    expect(line(result, 'staging').detail).toMatch(/staging-file\/staging is not writable: ENOTDIR/);
    expect(line(result, 'staging').fix).toMatch(/or set targets\.main\.staging \(defaults\.staging\) to one$/);
  });

  it('a listing that fails is named, and the probe is removed anyway', async () => {
    await s3.failNextLists(20);
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
        destinations: { remote: s3Destination(s3, 'doctor-bucket') },
      }),
    );
    expect(line(result, 'destination remote').detail).toMatch(/^cannot list: /);
    expect(line(result, 'destination remote').fix).toContain('s3:ListBucket');
    await s3.failNextLists(0);
    expect(await s3Objects('doctor-bucket')).toEqual([]);
  });

  it('an SMTP server on a closed port cannot send; the line says where and what to check', async () => {
    const port = await closedPort();
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging', destinations: ['local'], notify: ['mail'] },
        notifications: {
          mail: { type: 'smtp', host: '127.0.0.1', port, from: 'b@example.test', to: ['ops@example.test'] },
        },
      }),
    );
    expect(result.code).toBe(1);
    expect(line(result, 'notifier mail').detail).toContain(`SMTP notification mail (127.0.0.1:${port})`);
    expect(line(result, 'notifier mail').detail).toContain('ECONNREFUSED');
    expect(line(result, 'notifier mail').fix).toContain('notifications.mail: check host, port');
  });

  it('an SMTP server that takes the login passes, without a mail being sent', async () => {
    const certificate = await selfSignedCertificate();
    const server = await startSmtpServer({
      secure: true,
      key: certificate.key,
      cert: certificate.cert,
      user: 'doctor',
      password: PASSWORD,
    });
    try {
      const result = await doctor(
        config(pgTarget(), {
          defaults: { staging: './staging', destinations: ['local'], notify: ['mail'] },
          notifications: {
            mail: {
              type: 'smtp',
              host: '127.0.0.1',
              port: server.port,
              secure: true,
              ca: certificate.caFile,
              user: 'doctor',
              password: 'env:STEPVAULT_TEST_DOCTOR_PASSWORD',
              from: 'b@example.test',
              to: ['ops@example.test'],
            },
          },
        }),
      );
      expect(line(result, 'notifier mail')).toEqual({
        name: 'notifier mail',
        status: 'ok',
        detail: `SMTP notification mail (127.0.0.1:${server.port}): connected, logged in as doctor`,
      });
      expect(server.logins).toEqual([{ user: 'doctor', accepted: true }]);
      expect(server.received).toEqual([]);
    } finally {
      await server.close();
      await certificate.remove();
    }
  });

  it('an SES endpoint without GetEmailIdentity (the local SES server) is a failed line that says so', async () => {
    const port = await closedPort();
    type Start = (config: { host: string; port: number }) => Promise<{ close(done: () => void): void }>;
    const loaded = sesLocal.default as unknown as Start | { default: Start };
    const server = await (typeof loaded === 'function' ? loaded : loaded.default)({ host: '127.0.0.1', port });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SESV2: `http://127.0.0.1:${port}`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    try {
      const result = await doctor(
        config(pgTarget(), {
          defaults: { staging: './staging', destinations: ['local'], notify: ['ops'] },
          notifications: { ops: { type: 'ses', from: 'backups@example.test', to: ['ops@example.test'] } },
        }),
      );
      expect(line(result, 'notifier ops').status).toBe('fail');
      expect(line(result, 'notifier ops').detail).toMatch(
        /^SES notification ops: the SES endpoint does not answer GetEmailIdentity as SES does \(HTTP \d+\); the identity of backups@example\.test could not be checked$/,
      );
    } finally {
      for (const key of ['AWS_ENDPOINT_URL_SESV2', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a webhook is skipped with the reason, which does not fail the run', async () => {
    process.env.STEPVAULT_TEST_DOCTOR_HOOK = 'https://hooks.example.test/x';
    const result = await doctor(
      config(pgTarget(), {
        defaults: { staging: './staging', destinations: ['local'], notify: ['chat'] },
        notifications: { chat: { type: 'webhook', format: 'slack', url: 'env:STEPVAULT_TEST_DOCTOR_HOOK' } },
      }),
    );
    expect(line(result, 'notifier chat')).toEqual({
      name: 'notifier chat',
      status: 'skip',
      detail: 'a webhook notification is only proven by sending one; doctor sends nothing',
    });
    expect(result.code, JSON.stringify(result.checks.filter((r) => r.status === 'fail'))).toBe(0);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function s3Objects(bucket: string): Promise<string[]> {
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}
