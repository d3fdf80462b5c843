/**
 * Every backup provably restorable: backup → list → restore into a fresh database → identical
 * contents, for PostgreSQL and MariaDB, through the command line a person at 3 am would use.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb, mariaInventory, mariaTableDigests, loadRichMariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, objectInventory, PG, psql, tableDigests, uniqueName, loadRichPostgres } from './helpers/postgres.ts';
import { runCli } from './helpers/cli.ts';
import { configFor, createWorkspace, storedBackup, type RunRecord, type Workspace } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_rs_pg');
const mariaSource = uniqueName('sv_rs_maria');
const restoredDatabases: { engine: 'pg' | 'maria'; name: string }[] = [];
let pg: Workspace;
let maria: Workspace;
let pgRecord: RunRecord;

const stepvault = (workspace: Workspace, args: string[]) => runCli(args, { cwd: workspace.dir });

function restored(engine: 'pg' | 'maria'): string {
  const name = uniqueName(`sv_rs_${engine}_into`);
  restoredDatabases.push({ engine, name });
  return name;
}

beforeAll(async () => {
  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  pg = await createWorkspace();
  await pg.writeConfig(configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgSource }));
  pgRecord = await pg.run('main', { now: () => new Date('2026-11-20T03:00:00Z') });
  await psql(pgSource, `INSERT INTO sales.audit (message) VALUES ('after the first backup')`);
  await pg.run('main', { now: () => new Date('2026-11-21T03:00:00Z') });

  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
  maria = await createWorkspace();
  await maria.writeConfig(configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database: mariaSource }));
  await maria.run('main');
});

afterAll(async () => {
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  for (const { engine, name } of restoredDatabases) await (engine === 'pg' ? dropDatabase(name) : dropMariaDatabase(name));
  await pg?.remove();
  await maria?.remove();
});

describe('stepvault list', () => {
  it('shows the backups newest first, from their manifests', async () => {
    const { code, stdout } = await stepvault(pg, ['list', '--target', 'main']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^CREATED\s+DESTINATION\s+SIZE\s+SHA-256\s+TOOL\s+SERVER\s+KEY$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['2026-11-21T03:00:00Z', '2026-11-20T03:00:00Z']);
    expect(lines[2]).toContain(storedBackup(pgRecord).sha256.slice(0, 12));
    expect(lines[2]).toMatch(/pg_dump \d+\.\d+/);
  });

  it('prints JSON with --json', async () => {
    const rows = JSON.parse((await stepvault(pg, ['list', '--target', 'main', '--json'])).stdout) as { key: string; sha256: string; size: number }[];
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ key: storedBackup(pgRecord).key, sha256: storedBackup(pgRecord).sha256, size: pgRecord.state.dump!.size });
  });
});

describe('stepvault restore', () => {
  it('PostgreSQL: creates the database and restores the latest backup with identical contents', async () => {
    const into = restored('pg');
    const { code, stdout } = await stepvault(pg, ['restore', '--target', 'main', '--into', `postgres://postgres@127.0.0.1:${PG.port}/${into}`]);
    expect(code).toBe(0);
    expect(stdout).toContain('restoring db/main/20261121/main-20261121T030000Z.dump');
    expect(stdout).toMatch(/checksum [0-9a-f]{64} matches the manifest/);
    expect(await tableDigests(into)).toEqual(await tableDigests(pgSource));
    expect(await objectInventory(into)).toEqual(await objectInventory(pgSource));
  });

  it('PostgreSQL: restores a named older backup, with --clean over an existing database', async () => {
    const into = restored('pg');
    await createDatabase(into);
    await psql(into, 'CREATE TABLE leftover (id int)');
    const key = storedBackup(pgRecord).key;
    const { code } = await stepvault(pg, ['restore', '--target', 'main', '--backup', key, '--into', `postgres://postgres@127.0.0.1/${into}`, '--clean', '--jobs', '2', '--no-owner']);
    expect(code).toBe(0);
    // The older backup predates the extra audit row.
    const audit = await psql(into, 'SELECT count(*) FROM sales.audit');
    expect(Number(audit)).toBe(Number(await psql(pgSource, 'SELECT count(*) FROM sales.audit')) - 1);
  });

  it('MariaDB: restores with identical contents and objects', async () => {
    const into = restored('maria');
    const { code, stdout } = await stepvault(maria, ['restore', '--target', 'main', '--into', `mariadb://root@127.0.0.1:3306/${into}`]);
    expect(code, stdout).toBe(0);
    expect(await mariaTableDigests(into)).toEqual(await mariaTableDigests(mariaSource));
    expect(await mariaInventory(into)).toEqual(await mariaInventory(mariaSource));
  });

  it('refuses a backup with one byte flipped, before the database is touched', async () => {
    const file = path.join(pg.dir, 'backups', storedBackup(pgRecord).key);
    const original = await readFile(file);
    const flipped = Buffer.from(original);
    const middle = Math.floor(flipped.length / 2);
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0x01, middle);
    await writeFile(file, flipped);
    try {
      const into = restored('pg');
      const { code, stderr } = await stepvault(pg, ['restore', '--target', 'main', '--backup', storedBackup(pgRecord).key, '--into', `postgres://postgres@127.0.0.1/${into}`]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${storedBackup(pgRecord).key} in local is not the backup its manifest describes`);
      expect(stderr).toContain('Nothing was restored');
      expect(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${into}'`)).toBe('0');
    } finally {
      await writeFile(file, original);
    }
  });

  it('refuses to restore over the source database without --force', async () => {
    const { code, stderr } = await stepvault(pg, ['restore', '--target', 'main', '--into', `postgres://postgres@localhost:${PG.port}/${pgSource}`]);
    expect(code).toBe(2);
    expect(stderr).toBe(`stepvault: --into is main's own database (127.0.0.1:${PG.port}/${pgSource}); restoring over it needs --force\n`);
  });

  it('never echoes the password of a malformed --into URL', async () => {
    for (const into of ['postgres://alice:Hunter2pw@127.0.0.1:99999/x', 'postgres://alice:Hun@ter2pw@127.0.0.1:54x/x', 'postgres://alice:Hunter2%zz@127.0.0.1/x']) {
      const { code, stdout, stderr } = await stepvault(pg, ['restore', '--target', 'main', '--into', into]);
      expect(code, into).toBe(2);
      expect(stderr, into).toMatch(/^stepvault: --into "postgres:\/\/alice:\*\*\*@127\.0\.0\.1/);
      expect(`${stdout}${stderr}`, into).not.toMatch(/Hunter2|ter2pw/);
    }
  });

  it('explains an unknown backup, a destination without backups, and a bad URL', async () => {
    const unknown = await stepvault(pg, ['restore', '--target', 'main', '--backup', 'main-19990101T000000Z.dump', '--into', 'postgres://postgres@127.0.0.1/x']);
    expect(unknown.stderr).toContain('stepvault: no backup main-19990101T000000Z.dump of main: looked in local');
    expect(unknown.stderr).toContain('stepvault list --target main shows what there is');

    const empty = await createWorkspace();
    await empty.writeConfig(configFor({ engine: 'postgres', host: PG.host, user: PG.user, database: 'nothing_here' }));
    const none = await stepvault(empty, ['restore', '--target', 'main', '--into', 'postgres://postgres@127.0.0.1/x']);
    expect(none.stderr).toMatch(/^stepvault: no backups of main found: looked in local \(.*: 0 backups\)/);
    await empty.remove();

    expect((await stepvault(pg, ['restore', '--target', 'main', '--into', 'not a url'])).stderr).toBe(
      'stepvault: --into "not a url" is not a URL; write it as postgres://postgres@127.0.0.1:5432/orders_restored (or mysql://root@127.0.0.1:3306/shop_restored)\n',
    );
    expect((await stepvault(pg, ['restore', '--target', 'main', '--into', 'postgres://127.0.0.1'])).stderr).toContain('--into: name the database to restore into after the host');
    expect((await stepvault(pg, ['restore', '--target', 'main', '--into', 'mysql://root@127.0.0.1/x'])).stderr).toContain('--into is a mysql URL, but main is a postgres database');
    expect((await stepvault(pg, ['restore', '--target', 'main'])).stderr).toContain('restore needs --into URL');
  });
});
