/**
 * Every backup provably restorable: backup → list → restore into a fresh database → identical
 * contents, for PostgreSQL and MariaDB, through the command line a person at 3 am would use.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMariaDatabase,
  dropMariaDatabase,
  MARIADB,
  mariadb,
  mariaInventory,
  mariaTableDigests,
  loadRichMariadb,
} from './helpers/mariadb.ts';
import {
  createDatabase,
  dropDatabase,
  objectInventory,
  PG,
  psql,
  tableDigests,
  uniqueName,
  loadRichPostgres,
} from './helpers/postgres.ts';
import { runCli } from './helpers/cli.ts';
import { restoreCommand } from '../src/commands/restore.ts';
import { loadConfig } from '../src/config/load.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { formatBytes } from '../src/text/format.ts';
import { configFor, createWorkspace, storedBackup, type RunRecord, type Workspace } from './helpers/workspace.ts';

const pgSource = uniqueName('sv_rs_pg');
const mariaSource = uniqueName('sv_rs_maria');
const restoredDatabases: { engine: 'pg' | 'maria'; name: string }[] = [];
let pg: Workspace;
let maria: Workspace;
let pgLatest: RunRecord;
let pgRecord: RunRecord;
let mariaRecord: RunRecord;

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
  await pg.writeConfig(
    configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgSource }),
  );
  pgRecord = await pg.run('main', { now: () => new Date('2026-11-20T03:00:00Z') });
  await psql(pgSource, `INSERT INTO sales.audit (message) VALUES ('after the first backup')`);
  pgLatest = await pg.run('main', { now: () => new Date('2026-11-21T03:00:00Z') });

  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
  maria = await createWorkspace();
  await maria.writeConfig(
    configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database: mariaSource }),
  );
  mariaRecord = await maria.run('main');
});

afterAll(async () => {
  await dropDatabase(pgSource);
  await dropMariaDatabase(mariaSource);
  for (const { engine, name } of restoredDatabases)
    await (engine === 'pg' ? dropDatabase(name) : dropMariaDatabase(name));
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
    const rows = JSON.parse((await stepvault(pg, ['list', '--target', 'main', '--json'])).stdout) as {
      key: string;
      sha256: string;
      size: number;
    }[];
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      key: storedBackup(pgRecord).key,
      sha256: storedBackup(pgRecord).sha256,
      size: pgRecord.state.dump!.size,
    });
  });
});

describe('stepvault restore', () => {
  it('PostgreSQL: creates the database and restores the latest backup with identical contents', async () => {
    const into = restored('pg');
    const { code, stdout } = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--into',
      `postgres://postgres@127.0.0.1:${PG.port}/${into}`,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain(`restoring ${storedBackup(pgLatest).key}`);
    expect(stdout).toMatch(/checksum [0-9a-f]{64} matches the manifest/);
    expect(await tableDigests(into)).toEqual(await tableDigests(pgSource));
    expect(await objectInventory(into)).toEqual(await objectInventory(pgSource));
  });

  it("on a terminal, shows the download as bytes of the backup's size with the share done", async () => {
    const into = restored('pg');
    const written: string[] = [];
    const out = { isTTY: true, write: (text: string) => written.push(text) };
    const code = await restoreCommand(
      loadConfig(pg.configFile),
      {
        target: 'main',
        backup: 'latest',
        into: `postgres://postgres@127.0.0.1:${PG.port}/${into}`,
        force: false,
        clean: false,
        noOwner: false,
      },
      new SecretResolver(),
      out,
      { write: () => true },
      { env: {}, input: Readable.from([]), prompt: { write: () => true } },
    );
    expect(code).toBe(0);
    const size = storedBackup(pgLatest).size;
    const lines = written.filter((w) => w.includes('downloading'));
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^\\r\\x1b\\[K {2}downloading ${formatBytes(size).replace('.', '\\.')} of ${formatBytes(size).replace('.', '\\.')} \\(100%\\)`,
      ),
    );
  });

  it('PostgreSQL: restores a named older backup, with --clean over an existing database', async () => {
    const into = restored('pg');
    await createDatabase(into);
    await psql(into, 'CREATE TABLE leftover (id int)');
    const key = storedBackup(pgRecord).key;
    const { code } = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--backup',
      key,
      '--into',
      `postgres://postgres@127.0.0.1/${into}`,
      '--clean',
      '--jobs',
      '2',
      '--no-owner',
    ]);
    expect(code).toBe(0);
    // The older backup predates the extra audit row.
    const audit = await psql(into, 'SELECT count(*) FROM sales.audit');
    expect(Number(audit)).toBe(Number(await psql(pgSource, 'SELECT count(*) FROM sales.audit')) - 1);
  });

  it('MariaDB: restores with identical contents and objects', async () => {
    const into = restored('maria');
    const { code, stdout } = await stepvault(maria, [
      'restore',
      '--target',
      'main',
      '--into',
      `mariadb://root@127.0.0.1:3306/${into}`,
    ]);
    expect(code, stdout).toBe(0);
    expect(await mariaTableDigests(into)).toEqual(await mariaTableDigests(mariaSource));
    expect(await mariaInventory(into)).toEqual(await mariaInventory(mariaSource));
  });

  it('refuses a backup with one byte flipped, before the database is touched', async () => {
    const file = path.join(pg.dir, 'backups', storedBackup(pgRecord).key);
    const original = await readFile(file);
    await writeFile(file, flipOneByte(original));
    try {
      const into = restored('pg');
      const { code, stderr } = await stepvault(pg, [
        'restore',
        '--target',
        'main',
        '--backup',
        storedBackup(pgRecord).key,
        '--into',
        `postgres://postgres@127.0.0.1/${into}`,
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${storedBackup(pgRecord).key} in local is not the backup its manifest describes`);
      expect(stderr).toContain('Nothing was restored');
      expect(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${into}'`)).toBe('0');

      // An existing database, with --clean: the refusal still comes before anything in it changes.
      const existing = restored('pg');
      await createDatabase(existing);
      await psql(existing, `CREATE TABLE public.documents (id int); INSERT INTO public.documents VALUES (7)`);
      const before = await objectInventory(existing);
      const over = await stepvault(pg, [
        'restore',
        '--target',
        'main',
        '--backup',
        storedBackup(pgRecord).key,
        '--into',
        `postgres://postgres@127.0.0.1/${existing}`,
        '--clean',
      ]);
      expect(over.code).toBe(2);
      expect(over.stderr).toMatch(/^stepvault: .* is not the backup its manifest describes: .*Nothing was restored/);
      expect(await tableDigests(existing)).toEqual({
        'public.documents': `1:${await psql('postgres', `SELECT md5('(7)')`)}`,
      });
      expect(await objectInventory(existing)).toEqual(before);
    } finally {
      await writeFile(file, original);
    }
  });

  it('MariaDB: refuses a backup with one byte flipped, the existing database untouched even with --clean', async () => {
    const file = path.join(maria.dir, 'backups', storedBackup(mariaRecord).key);
    const original = await readFile(file);
    await writeFile(file, flipOneByte(original));
    try {
      const into = restored('maria');
      await createMariaDatabase(into);
      await mariadb(into, 'CREATE TABLE customers (id INT); INSERT INTO customers VALUES (7)');
      const { code, stderr } = await stepvault(maria, [
        'restore',
        '--target',
        'main',
        '--into',
        `mariadb://root@127.0.0.1:3306/${into}`,
        '--clean',
      ]);
      expect(code).toBe(2);
      expect(stderr).toContain(`${storedBackup(mariaRecord).key} in local is not the backup its manifest describes`);
      expect(stderr).toContain('Nothing was restored');
      expect(await mariadb(into, 'SELECT GROUP_CONCAT(id) FROM customers')).toBe('7');
      expect(
        await mariadb(into, 'SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()'),
      ).toBe('1');
    } finally {
      await writeFile(file, original);
    }
  });

  it('refuses to restore over the source database without --force', async () => {
    const { code, stderr } = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--into',
      `postgres://postgres@localhost:${PG.port}/${pgSource}`,
    ]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `stepvault: --into is main's own database (127.0.0.1:${PG.port}/${pgSource}); restoring over it needs --force\n`,
    );
  });

  it('PostgreSQL: restores into an existing empty database without --clean or --force', async () => {
    const into = restored('pg');
    await createDatabase(into);
    const { code, stderr } = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--into',
      `postgres://postgres@127.0.0.1:${PG.port}/${into}`,
    ]);
    expect(code, stderr).toBe(0);
    expect(await tableDigests(into)).toEqual(await tableDigests(pgSource));
  });

  it('PostgreSQL: refuses a database that holds something, unchanged; with --force a conflicting restore says the database was changed', async () => {
    const into = restored('pg');
    await createDatabase(into);
    await psql(
      into,
      `CREATE TABLE public.documents (id int PRIMARY KEY, note text); INSERT INTO public.documents VALUES (1, 'mine')`,
    );
    const url = `postgres://postgres@127.0.0.1:${PG.port}/${into}`;

    const refused = await stepvault(pg, ['restore', '--target', 'main', '--into', url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `stepvault: database 127.0.0.1:${PG.port}/${into} is not empty (table public.documents); nothing was changed. ` +
        'Restore into a new database name, or say what to do with what is there: --clean drops each object the backup contains before restoring it (other objects stay), ' +
        '--force restores on top of what is there as it is (a restore that then conflicts stops partway and leaves the database changed)\n',
    );
    expect(await psql(into, 'SELECT id || note FROM public.documents')).toBe('1mine');
    expect(await psql(into, `SELECT count(*) FROM pg_namespace WHERE nspname = 'sales'`)).toBe('0');

    const forced = await stepvault(pg, ['restore', '--target', 'main', '--into', url, '--force']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(
      new RegExp(
        `^stepvault: restore into 127\\.0\\.0\\.1:${PG.port}/${into} failed after it had begun: pg_restore into ${into} failed: .*"documents" already exists`,
      ),
    );
    expect(forced.stderr).toContain(
      `The database ${into} was changed (partly restored): it now holds part of the backup next to what it held before. Re-run with --clean to replace the objects the backup contains, or drop and recreate the database and restore into it again.`,
    );
    // It says so because it is so.
    expect(Number(await psql(into, 'SELECT count(*) FROM sales.orders'))).toBeGreaterThan(0);
  });

  it('PostgreSQL: a restore that fails midway in a database it created (a role that cannot give objects to their owners) says so', async () => {
    const into = restored('pg');
    const role = uniqueName('sv_rs_creator');
    await psql('postgres', `CREATE ROLE ${role} LOGIN CREATEDB`);
    try {
      const { code, stderr } = await stepvault(pg, [
        'restore',
        '--target',
        'main',
        '--into',
        `postgres://${role}@127.0.0.1:${PG.port}/${into}`,
      ]);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        new RegExp(
          `^stepvault: restore into 127\\.0\\.0\\.1:${PG.port}/${into} failed after it had begun: pg_restore into ${into} failed: `,
        ),
      );
      expect(stderr).toContain(
        `The database ${into} was created by this restore and is partly restored. Drop it (DROP DATABASE ${into}) and restore again once the cause is fixed.`,
      );
      expect(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${into}'`)).toBe('1');
    } finally {
      await dropDatabase(into);
      await psql('postgres', `DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('MariaDB: refuses a database that holds something, unchanged; --clean replaces what the backup contains', async () => {
    const into = restored('maria');
    await createMariaDatabase(into);
    await mariadb(
      into,
      `CREATE TABLE customers (id INT PRIMARY KEY, note TEXT); INSERT INTO customers VALUES (1, 'mine')`,
    );
    const url = `mariadb://root@127.0.0.1:3306/${into}`;

    const refused = await stepvault(maria, ['restore', '--target', 'main', '--into', url]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `stepvault: database 127.0.0.1:3306/${into} is not empty (table customers); nothing was changed.`,
    );
    expect(refused.stderr).toContain('--clean drops each object the backup contains before restoring it');
    expect(await mariadb(into, 'SELECT CONCAT(id, note) FROM customers')).toBe('1mine');
    expect(await mariadb(into, 'SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()')).toBe(
      '1',
    );

    const cleaned = await stepvault(maria, ['restore', '--target', 'main', '--into', url, '--clean']);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(await mariaTableDigests(into)).toEqual(await mariaTableDigests(mariaSource));
    expect(await mariaInventory(into)).toEqual(await mariaInventory(mariaSource));
  });

  it('MariaDB: a restore that fails midway (a role without the TRIGGER privilege) says the database was changed', async () => {
    const into = restored('maria');
    const user = uniqueName('sv_rs_role');
    await createMariaDatabase(into);
    await mariadb(undefined, `CREATE USER '${user}'@'%' IDENTIFIED BY 'Restore-pw-7'`);
    try {
      await mariadb(
        undefined,
        `GRANT CREATE, DROP, INSERT, SELECT, ALTER, INDEX, LOCK TABLES, REFERENCES ON \`${into}\`.* TO '${user}'@'%'`,
      );
      const { code, stderr } = await stepvault(maria, [
        'restore',
        '--target',
        'main',
        '--into',
        `mariadb://${user}:Restore-pw-7@127.0.0.1:3306/${into}`,
      ]);
      expect(code).toBe(1);
      expect(stderr).toMatch(
        new RegExp(
          `^stepvault: restore into 127\\.0\\.0\\.1:3306/${into} failed after it had begun: restore into ${into} failed: .*denied`,
        ),
      );
      expect(stderr).toContain(`The database ${into} was changed (partly restored)`);
      expect(stderr).not.toContain('Restore-pw-7');
      expect(Number(await mariadb(into, 'SELECT COUNT(*) FROM customers'))).toBeGreaterThan(0);
    } finally {
      await mariadb(undefined, `DROP USER IF EXISTS '${user}'@'%'`);
    }
  });

  it('never echoes the password of a malformed --into URL', async () => {
    for (const into of [
      'postgres://alice:Hunter2pw@127.0.0.1:99999/x',
      'postgres://alice:Hun@ter2pw@127.0.0.1:54x/x',
      'postgres://alice:Hunter2%zz@127.0.0.1/x',
    ]) {
      const { code, stdout, stderr } = await stepvault(pg, ['restore', '--target', 'main', '--into', into]);
      expect(code, into).toBe(2);
      expect(stderr, into).toMatch(/^stepvault: --into "postgres:\/\/alice:\*\*\*@127\.0\.0\.1/);
      expect(`${stdout}${stderr}`, into).not.toMatch(/Hunter2|ter2pw/);
    }
  });

  it('explains an unknown backup, a destination without backups, and a bad URL', async () => {
    const unknown = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--backup',
      'main-19990101T000000Z.dump',
      '--into',
      'postgres://postgres@127.0.0.1/x',
    ]);
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
    expect((await stepvault(pg, ['restore', '--target', 'main', '--into', 'postgres://127.0.0.1'])).stderr).toContain(
      '--into: name the database to restore into after the host',
    );
    expect(
      (await stepvault(pg, ['restore', '--target', 'main', '--into', 'mysql://root@127.0.0.1/x'])).stderr,
    ).toContain('--into is a mysql URL, but main is a postgres database');
    const stranger = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--into',
      `postgres://sv_no_such_role@127.0.0.1:${PG.port}/x`,
    ]);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toMatch(
      new RegExp(
        `^stepvault: cannot log in to 127\\.0\\.0\\.1:${PG.port} as sv_no_such_role: .*role "sv_no_such_role" does not exist`,
      ),
    );
    expect((await stepvault(pg, ['restore', '--target', 'main'])).stderr).toContain('restore needs --into URL');
  });
});

function flipOneByte(bytes: Buffer): Buffer {
  const flipped = Buffer.from(bytes);
  const middle = Math.floor(flipped.length / 2);
  flipped.writeUInt8(flipped.readUInt8(middle) ^ 0x01, middle);
  return flipped;
}
