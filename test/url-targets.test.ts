/**
 * Targets configured by a connection URL (`url: env:DATABASE_URL`), through the workflow against
 * the local PostgreSQL and MariaDB: each backed up, restored into a new database and compared. The
 * URL carries a password with every character a URL must encode; the dump tools' arguments (as
 * they were started), the logs, the states and the files written hold neither it nor the URL.
 * Then a wrong URL fails in Plan, before any dump, with what to fix and nothing of the URL.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingTool } from './helpers/fake-tools.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariadb,
  mariaTableDigests,
  restoreSqlDump,
} from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, pgRestore, psql, tableDigests, uniqueName } from './helpers/postgres.ts';
import { configFor, storedBackup, workspacePool, type RunRecord, type Workspace } from './helpers/workspace.ts';

const PASSWORD = 'Sv-url:p@ss/w#rd%?&=t3st';
const ENCODED = encodeURIComponent(PASSWORD);
const pg = uniqueName('sv_pg_url');
const pgCopy = uniqueName('sv_pg_url_copy');
const supa = uniqueName('sv_pg_supa');
const supaFresh = uniqueName('sv_pg_supa_new');
const maria = uniqueName('sv_maria_url');
const mariaCopy = uniqueName('sv_maria_url_copy');
const mariaUser = uniqueName('svurl');
const workspaces = workspacePool();
let toolsDir: string;

beforeAll(async () => {
  toolsDir = await mkdtemp(path.join(tmpdir(), 'stepvault-url-tools-'));
  for (const tool of ['pg_dump', 'mariadb-dump']) await recordingTool(toolsDir, tool, path.join(toolsDir, 'argv.log'));
  process.env.STEPVAULT_TOOLS_DIR = toolsDir;
  await createDatabase(pg);
  await psql(
    pg,
    `CREATE SCHEMA app; CREATE TABLE app.orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 3000) g;
     CREATE TABLE public.t AS SELECT g AS id FROM generate_series(1, 100) g`,
  );
  await createMariaDatabase(maria);
  await mariadb(
    maria,
    `CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40)); INSERT INTO items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_2000`,
  );
  await mariadb(
    undefined,
    `CREATE USER '${mariaUser}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL ON \`${maria}\`.* TO '${mariaUser}'@'127.0.0.1'`,
  );
});

afterAll(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  await workspaces.removeAll();
  await Promise.all([
    dropDatabase(pg),
    dropDatabase(pgCopy),
    dropDatabase(supa),
    dropDatabase(supaFresh),
    dropMariaDatabase(maria),
    dropMariaDatabase(mariaCopy),
  ]);
  await mariadb(undefined, `DROP USER IF EXISTS '${mariaUser}'@'127.0.0.1'`);
  await rm(toolsDir, { recursive: true, force: true });
});

/** Everything the run left for a person or a program to read, and every argument the tools were given. */
async function everythingVisible(workspace: Workspace, record: RunRecord): Promise<string> {
  const files = (await readdir(workspace.dir, { recursive: true })).filter((f) => /\.(json|eml)$/.test(f));
  const contents = await Promise.all(files.map((f) => readFile(path.join(workspace.dir, f), 'utf8')));
  return [
    JSON.stringify(record.events),
    record.logs.join('\n'),
    JSON.stringify(record.state),
    record.cause ?? '',
    ...contents,
    await readFile(path.join(toolsDir, 'argv.log'), 'utf8').catch(() => ''),
  ].join('\n');
}

function expectNoSecretIn(seen: string): void {
  expect(seen).not.toContain(PASSWORD);
  expect(seen).not.toContain(ENCODED);
  expect(seen).not.toContain('p@ss');
}

describe('a target configured by a connection URL', () => {
  it('PostgreSQL: postgresql:// with sslmode backs up, restores and compares; the URL is nowhere', async () => {
    process.env.STEPVAULT_TEST_PG_URL = `postgresql://${PG.user}:${ENCODED}@${PG.host}:${PG.port}/${pg}?sslmode=disable&application_name=stepvault`;
    const workspace = await workspaces.withConfig(configFor({ engine: 'postgres', url: 'env:STEPVAULT_TEST_PG_URL' }));
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.plan).toMatchObject({ database: pg, engine: 'postgres' });
    await createDatabase(pgCopy);
    await pgRestore(path.join(workspace.dir, 'backups', storedBackup(record).key), pgCopy);
    expect(await tableDigests(pgCopy)).toEqual(await tableDigests(pg));
    const seen = await everythingVisible(workspace, record);
    expect(seen).toContain(
      `--dbname=dbname='${pg}' host='${PG.host}' port='${PG.port}' user='${PG.user}' sslmode='disable'`,
    );
    expectNoSecretIn(seen);
  });

  it("MariaDB: mariadb:// with a user only the URL's password logs in as; restored and compared", async () => {
    process.env.STEPVAULT_TEST_MARIA_URL = `mariadb://${mariaUser}:${ENCODED}@${MARIADB.host}:${MARIADB.port}/${maria}?ssl-mode=DISABLED`;
    const workspace = await workspaces.withConfig(
      configFor({ engine: 'mariadb', url: 'env:STEPVAULT_TEST_MARIA_URL' }),
    );
    const record = await workspace.run('main');
    // Success proves the decoded password was delivered: this user has no other way in.
    expect(record.status, record.cause).toBe('SUCCEEDED');
    await createMariaDatabase(mariaCopy);
    await restoreSqlDump(path.join(workspace.dir, 'backups', storedBackup(record).key), mariaCopy);
    expect(await mariaTableDigests(mariaCopy)).toEqual(await mariaTableDigests(maria));
    const seen = await everythingVisible(workspace, record);
    expect(seen).toContain(`--user=${mariaUser}`);
    expect(seen).toContain('--defaults-file=');
    expectNoSecretIn(seen);
  });

  it("preset supabase: the platform's schemas stay out, so the dump restores into a new project that has them", async () => {
    // A Supabase project as the platform makes it (auth, storage, extensions) with the user's own schemas.
    const platform = `CREATE SCHEMA auth; CREATE TABLE auth.users (id int PRIMARY KEY, email text);
      CREATE SCHEMA storage; CREATE TABLE storage.buckets (id text PRIMARY KEY); CREATE SCHEMA extensions;`;
    await createDatabase(supa);
    await psql(
      supa,
      `${platform} INSERT INTO auth.users VALUES (1, 'a@example.test');
       CREATE TABLE public.profiles (id int PRIMARY KEY, name text); INSERT INTO public.profiles SELECT g, 'p' || g FROM generate_series(1, 500) g;
       CREATE SCHEMA shop; CREATE TABLE shop.orders AS SELECT g AS id FROM generate_series(1, 200) g`,
    );
    process.env.STEPVAULT_TEST_SUPA_URL = `postgres://${PG.user}@${PG.host}:${PG.port}/${supa}?sslmode=disable`;
    const workspace = await workspaces.withConfig(
      configFor({ engine: 'postgres', url: 'env:STEPVAULT_TEST_SUPA_URL', preset: 'supabase' }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    await createDatabase(supaFresh);
    await psql(supaFresh, platform);
    // --exit-on-error: a CREATE SCHEMA auth in the dump would stop it here.
    await pgRestore(path.join(workspace.dir, 'backups', storedBackup(record).key), supaFresh);
    const restored = await tableDigests(supaFresh);
    const original = await tableDigests(supa);
    expect(restored['public.profiles']).toBe(original['public.profiles']);
    expect(restored['shop.orders']).toBe(original['shop.orders']);
    expect(await psql(supaFresh, 'SELECT count(*) FROM auth.users')).toBe('0');
    const argv = await readFile(path.join(toolsDir, 'argv.log'), 'utf8');
    expect(argv).toMatch(/--exclude-schema=auth .*--exclude-schema=storage/);
  });

  it.each([
    [
      'an engine the URL contradicts',
      'mysql://root@127.0.0.1/x',
      {},
      'targets.main.url is a mysql:// URL (MySQL), but targets.main.engine is postgres',
    ],
    [
      'a host the URL contradicts',
      `postgresql://u:${ENCODED}@db.example.com/x`,
      { host: '127.0.0.1' },
      'targets.main.url and targets.main.host disagree',
    ],
    [
      "Supabase's transaction pooler",
      `postgresql://postgres.abc:${ENCODED}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres`,
      {},
      "port 6543 is Supabase's transaction pooler",
    ],
  ])('a URL with %s fails in Plan, says what to fix and repeats nothing of the URL', async (_what, url, keys, says) => {
    process.env.STEPVAULT_TEST_BAD_URL = url;
    const workspace = await workspaces.withConfig(
      configFor({ engine: 'postgres', url: 'env:STEPVAULT_TEST_BAD_URL', ...keys }),
    );
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('ConfigError');
    const notified = record.events.find((e) => e.type === 'state-entered' && e.state === 'NotifyFailure');
    expect((notified as { input: { failure: { state: string } } }).input.failure.state).toBe('Plan');
    expect(record.events.some((e) => e.type === 'state-entered' && /Dump$/.test(e.state))).toBe(false);
    expect(record.cause).toContain(says);
    expectNoSecretIn(await everythingVisible(workspace, record));
  });
});
