/**
 * Whole-server backups (`databases:`): three databases and a role or user with grants, backed up
 * by `stepvault run` into one tar object whose manifest lists each member's checksum, then
 * restored by `stepvault restore --database NAME` into a fresh name and by `--all` (globals first,
 * then every database, under a prefix) after the role or user was dropped; tables compared with
 * the sources. `databases: all` runs against a PostgreSQL server of the test's own, where "all" is
 * known.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerLayout } from '../src/contracts.ts';
import { runCli } from './helpers/cli.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  loadRichMariadb,
  MARIADB,
  mariadb,
  mariaTableDigests,
} from './helpers/mariadb.ts';
import { type PgCluster, startCluster } from './helpers/pg-cluster.ts';
import {
  createDatabase,
  dropDatabase,
  loadRichPostgres,
  PG,
  psql,
  tableDigests,
  uniqueName,
} from './helpers/postgres.ts';
import { configFor, type RunRecord, storedBackup, type Workspace, workspacePool } from './helpers/workspace.ts';

const run = promisify(execFile);
const pool = workspacePool();
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await pool.removeAll();
});

/** The stored tar unpacked into a temporary folder; each member's SHA-256 by file name. */
async function unpackStored(workspace: Workspace, record: RunRecord): Promise<Record<string, string>> {
  const file = path.join(workspace.dir, 'backups', storedBackup(record).key);
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-ws-'));
  try {
    await run('tar', ['-xf', file, '-C', dir]);
    const names = await readdir(path.join(dir, 'server'));
    const sums: Record<string, string> = {};
    for (const name of names)
      sums[name] = createHash('sha256')
        .update(await readFile(path.join(dir, 'server', name)))
        .digest('hex');
    sums['globals.sql text'] = await readFile(path.join(dir, 'server', 'globals.sql'), 'utf8');
    return sums;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function restore(workspace: Workspace, args: string[]) {
  return runCli(['restore', '--target', 'main', ...args], { cwd: workspace.dir });
}

describe('a PostgreSQL server: databases as a list', () => {
  const names = [uniqueName('sv_ws_app'), uniqueName('sv_ws_billing'), `${uniqueName('sv_ws_odd')} name`];
  const role = uniqueName('sv_ws_role');
  const prefix = `${uniqueName('sv_ws_copy')}_`;
  let workspace: Workspace;
  let record: RunRecord;

  beforeAll(async () => {
    for (const name of names) {
      await createDatabase(name);
      cleanups.push(() => dropDatabase(name));
    }
    await loadRichPostgres(names[0]!);
    await psql(
      names[1]!,
      'CREATE TABLE invoices AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 500) g',
    );
    await psql(names[2]!, "CREATE TABLE notes (id int PRIMARY KEY, text text); INSERT INTO notes VALUES (1, 'odd')");
    await psql('postgres', `CREATE ROLE ${role} LOGIN PASSWORD 'sv-secret-pw'`);
    cleanups.push(() => psql('postgres', `DROP ROLE IF EXISTS ${role}`));
    await psql(names[1]!, `GRANT SELECT ON invoices TO ${role}`);
    workspace = await pool.withConfig(
      configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, databases: names }),
    );
    record = await workspace.run('main');
  }, 300_000);

  it('stores one .server.tar whose manifest lists every member with its checksum', async () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.plan).toMatchObject({ database: names.join(','), runner: 'efs' });
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/\.server\.tar$/);
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    const layout = manifest.layout as ServerLayout;
    expect(layout.kind).toBe('server');
    expect(layout.members.map((m) => m.database)).toEqual([...names, undefined]);
    expect(layout.members.at(-1)!.file).toBe('globals.sql');
    // Rows are counted for a restore drill only, which a server backup skips.
    expect(layout.members.every((m) => m.rowCounts === undefined)).toBe(true);
    const unpacked = await unpackStored(workspace, record);
    for (const member of layout.members) expect(unpacked[member.file], member.file).toBe(member.sha256);
    // The roles, without their passwords unless globals.rolePasswords says so.
    expect(unpacked['globals.sql text']).toContain(`CREATE ROLE ${role}`);
    expect(unpacked['globals.sql text']).not.toMatch(/SCRAM-SHA-256\$|PASSWORD 'md5/);
    // The run's staging, scratch folder included, is gone.
    expect(await workspace.stagingEntries()).toEqual([]);
  });

  it('refuses a restore that does not say which database, listing them', async () => {
    const result = await restore(workspace, ['--into', `postgres://${PG.user}@${PG.host}:${PG.port}/${prefix}x`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is a whole-server backup of 3 databases (');
    expect(result.stderr).toContain(`${JSON.stringify(names[2])}): choose --database NAME to restore one of them`);
    expect(result.stderr).toContain(
      'or --all to restore the roles and users, then every database; nothing was restored',
    );
  });

  it('refuses --database with a name the backup does not hold, listing those it does', async () => {
    const result = await restore(workspace, [
      '--database',
      'nope',
      '--into',
      `postgres://${PG.user}@${PG.host}:${PG.port}/${prefix}x`,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`holds no database "nope"; it holds ${JSON.stringify(names[0])}, `);
  });

  it('refuses --all and --database together', async () => {
    const result = await restore(workspace, [
      '--all',
      '--database',
      names[0]!,
      '--into',
      `postgres://${PG.user}@${PG.host}:${PG.port}/${prefix}`,
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--all and --database exclude each other: --all restores every database, --database one',
    );
  });

  it('refuses --all into its own server under the same names without --force', async () => {
    const result = await restore(workspace, ['--all', '--into', `postgres://${PG.user}@${PG.host}:${PG.port}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `--into is main's own server (${PG.host}:${PG.port}), and ${names.join(', ')} are its own databases; restoring over them needs --force`,
    );
  });

  it('restores one database with --database into a fresh name', async () => {
    const into = `${prefix}one`;
    cleanups.push(() => dropDatabase(into));
    const result = await restore(workspace, [
      '--database',
      names[1]!,
      '--into',
      `postgres://${PG.user}@${PG.host}:${PG.port}/${into}`,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`restored into ${PG.host}:${PG.port}/${into}`);
    expect(await tableDigests(into)).toEqual(await tableDigests(names[1]!));
  });

  it('restores --all: the dropped role first, then every database under the prefix, grants included', async () => {
    // The role's grants, in the source and in the copy restored above, go with it.
    await dropDatabase(`${prefix}one`);
    await psql(names[1]!, `REVOKE ALL ON invoices FROM ${role}`);
    await psql('postgres', `DROP ROLE ${role}`);
    for (const name of names) cleanups.push(() => dropDatabase(`${prefix}${name}`));
    const result = await restore(workspace, [
      '--all',
      '--into',
      `postgres://${PG.user}@${PG.host}:${PG.port}/${prefix}`,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`restored the roles and users into ${PG.host}:${PG.port}`);
    expect(result.stdout).toContain('role(s) existed already (');
    for (const name of names) {
      expect(result.stdout).toContain(`restored into ${PG.host}:${PG.port}/${prefix}${name}`);
      expect(await tableDigests(`${prefix}${name}`)).toEqual(await tableDigests(name));
    }
    expect(await psql('postgres', `SELECT rolcanlogin FROM pg_roles WHERE rolname = '${role}'`)).toBe('t');
    expect(
      await psql(`${prefix}${names[1]}`, `SELECT has_table_privilege('${role}', 'public.invoices', 'SELECT')`),
    ).toBe('t');
  });

  it('runs on the fargate runner: the task dumps into its own storage and streams the tar into the destination', async () => {
    // The task's storage goes into a temporary folder of this test's own, to be seen empty after.
    const temporary = await mkdtemp(path.join(tmpdir(), 'sv-ws-tmp-'));
    cleanups.push(() => rm(temporary, { recursive: true, force: true }));
    const streamed = await pool.withConfig(
      configFor({
        engine: 'postgres',
        host: PG.host,
        port: PG.port,
        user: PG.user,
        databases: names,
        runner: 'fargate',
      }),
    );
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = temporary;
    const result = await streamed.run('main').finally(() => {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.state.dump).toMatchObject({ kind: 'streamed', layout: { kind: 'server' } });
    expect(await readdir(temporary)).toEqual([]);
    const into = `${prefix}streamed`;
    cleanups.push(() => dropDatabase(into));
    const restored = await restore(streamed, [
      '--database',
      names[2]!,
      '--into',
      `postgres://${PG.user}@${PG.host}:${PG.port}/${into}`,
    ]);
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    expect(await tableDigests(into)).toEqual(await tableDigests(names[2]!));
  });

  it('fails the run, naming what the server has, when databases names one it does not have', async () => {
    const missing = uniqueName('sv_ws_missing');
    const failing = await pool.withConfig(
      configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, databases: [names[0]!, missing] }),
    );
    const failed = await failing.run('main');
    expect(failed.status).toBe('FAILED');
    expect(failed.failedState).toBe('Dump');
    expect(failed.error).toBe('ConfigError');
    const cause = JSON.parse(failed.cause!).errorMessage as string;
    expect(cause).toContain(`targets.main.databases names "${missing}", which the server does not have; it has `);
    expect(cause).toContain(JSON.stringify(names[0]));
    expect(await failing.stagingEntries()).toEqual([]);
  });
});

describe('a PostgreSQL server of its own: databases: all', () => {
  let cluster: PgCluster;
  let record: RunRecord;

  beforeAll(async () => {
    cluster = await startCluster();
    cleanups.push(() => cluster.remove());
    await psql('postgres', 'CREATE DATABASE alpha', cluster.port);
    await psql('postgres', 'CREATE DATABASE beta', cluster.port);
    await psql('alpha', 'CREATE TABLE a AS SELECT generate_series(1, 7) AS id', cluster.port);
    const workspace = await pool.withConfig(
      configFor({
        engine: 'postgres',
        host: PG.host,
        port: cluster.port,
        user: PG.user,
        databases: 'all',
        verify: { drill: { into: `postgres://${PG.user}@${PG.host}:${PG.port}/sv_ws_drill` } },
      }),
    );
    record = await workspace.run('main');
  }, 300_000);

  it('backs up every database but the templates, and skips the drill saying why', () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.plan?.database).toBe('all');
    const layout = (record.state.dump as { layout?: ServerLayout } | undefined)?.layout as ServerLayout;
    expect(layout.members.map((m) => m.database ?? m.file)).toEqual(['alpha', 'beta', 'postgres', 'globals.sql']);
    expect(layout.members[0]!.rowCounts).toEqual({ 'public.a': 7 });
    expect(record.state.verify?.drillSkipped).toBe(
      "a whole-server backup (targets.main.databases): the drill restores single-database backups only; each database's dump was checked as it was written",
    );
  });
});

describe('a MariaDB server: databases as a list', () => {
  const names = [uniqueName('sv_ws_shop'), uniqueName('sv_ws_crm'), uniqueName('sv_ws_log')];
  const user = uniqueName('sv_ws_user');
  const prefix = `${uniqueName('sv_ws_copy')}_`;
  let workspace: Workspace;
  let record: RunRecord;

  beforeAll(async () => {
    for (const name of names) {
      await createMariaDatabase(name);
      cleanups.push(() => dropMariaDatabase(name));
    }
    await loadRichMariadb(names[0]!);
    await mariadb(names[1]!, 'CREATE TABLE contacts (id INT PRIMARY KEY, name VARCHAR(40))');
    await mariadb(names[1]!, "INSERT INTO contacts VALUES (1, 'Ana'), (2, 'Bo')");
    await mariadb(names[2]!, 'CREATE TABLE entries (id INT PRIMARY KEY)');
    await mariadb(undefined, `CREATE USER '${user}'@'%' IDENTIFIED BY 'sv-secret-pw'`);
    cleanups.push(() => mariadb(undefined, `DROP USER IF EXISTS '${user}'@'%'`));
    await mariadb(undefined, `GRANT SELECT ON \`${names[1]}\`.* TO '${user}'@'%'`);
    workspace = await pool.withConfig(
      configFor({ engine: 'mariadb', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, databases: names }),
    );
    record = await workspace.run('main');
  }, 300_000);

  it('stores every database and the users and grants as members of one object', async () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const layout = (record.state.dump as { layout?: ServerLayout } | undefined)?.layout as ServerLayout;
    expect(layout.members.map((m) => m.database ?? m.file)).toEqual([...names, 'globals.sql']);
    expect(layout.members[1]!.file).toMatch(/^002-sv_ws_crm_[0-9a-f]{8}\.sql\.zst$/);
    const unpacked = await unpackStored(workspace, record);
    for (const member of layout.members) expect(unpacked[member.file], member.file).toBe(member.sha256);
    expect(unpacked['globals.sql text']).toContain(`CREATE USER IF NOT EXISTS \`${user}\`@\`%\``);
  });

  it('restores --all: the dropped user and its grants first, then every database under the prefix', async () => {
    await mariadb(undefined, `DROP USER '${user}'@'%'`);
    for (const name of names) cleanups.push(() => dropMariaDatabase(`${prefix}${name}`));
    const result = await restore(workspace, [
      '--all',
      '--into',
      `mariadb://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${prefix}`,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    for (const name of names) {
      expect(result.stdout).toContain(`restored into ${MARIADB.host}:${MARIADB.port}/${prefix}${name}`);
      expect(await mariaTableDigests(`${prefix}${name}`)).toEqual(await mariaTableDigests(name));
    }
    // The grants name the databases as they were backed up.
    expect(await mariadb(undefined, `SHOW GRANTS FOR '${user}'@'%'`)).toContain(
      `GRANT SELECT ON \`${names[1]}\`.* TO \`${user}\`@\`%\``,
    );
  });

  it('restores one database with --database into a fresh name', async () => {
    const into = `${prefix}single`;
    cleanups.push(() => dropMariaDatabase(into));
    const result = await restore(workspace, [
      '--database',
      names[0]!,
      '--into',
      `mariadb://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${into}`,
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await mariaTableDigests(into)).toEqual(await mariaTableDigests(names[0]!));
  });
});
