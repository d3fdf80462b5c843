/**
 * Client-side encryption with age, against real databases and Debian's own `age` tool: what
 * stepvault encrypts, `age -d` opens and pg_restore / the mariadb client restore; what `age`
 * encrypts, stepvault restores; nothing unencrypted lands in staging or a destination (a marker
 * row is searched for, in dumps left uncompressed so that it would show); a wrong identity, an
 * altered or cut ciphertext and a missing identity are refused before a database is created;
 * the drill runs with an identity and is skipped, saying so, without one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keygenCommand } from '../src/commands/keygen.ts';
import { loadConfig } from '../src/config/load.ts';
import { recipientFingerprint } from '../src/encryption/age.ts';
import { createJsonLogger } from '../src/observability/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { dump } from '../src/steps/dump.ts';
import { plan } from '../src/steps/plan.ts';
import { execution } from '../src/steps/testing.ts';
import { age, ageKeygen } from './helpers/age-cli.ts';
import { runCli } from './helpers/cli.ts';
import {
  createMariaDatabase,
  dropMariaDatabase,
  loadRichMariadb,
  MARIADB,
  mariadb,
  mariaTableDigests,
  restoreSqlDump,
} from './helpers/mariadb.ts';
import {
  createDatabase,
  dropDatabase,
  loadRichPostgres,
  objectInventory,
  PG,
  pgRestore,
  psql,
  tableDigests,
  uniqueName,
} from './helpers/postgres.ts';
import { runnerWorkspace } from './helpers/runner-suite.ts';
import { configFor, storedBackup, workspacePool, type RunRecord, type Workspace } from './helpers/workspace.ts';

const MARKER = `stepvault-marker-${randomBytes(8).toString('hex')}`;
const DRILL_IDENTITY = 'STEPVAULT_TEST_DRILL_IDENTITY';
const PASSPHRASE = 'STEPVAULT_TEST_AGE_PASSPHRASE';
const pgSource = uniqueName('sv_age_pg');
const mariaSource = uniqueName('sv_age_maria');
const pgMade: string[] = [];
const mariaMade: string[] = [];
const pool = workspacePool();
let keys: string;
const key = { operator: '', breakGlass: '', stranger: '' };
const recipient = { operator: '', breakGlass: '', stranger: '' };
let pg: Workspace;
let pgRecord: RunRecord;
let maria: Workspace;
let mariaRecord: RunRecord;

const pgTarget = (database = pgSource) => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  database,
  // Uncompressed, so that the marker row would be there to find if anything were written in clear.
  dump: { compression: 'none' },
});
const pgInto = () => {
  const name = uniqueName('sv_age_into');
  pgMade.push(name);
  return { name, url: `postgres://postgres@127.0.0.1:${PG.port}/${name}` };
};
const mariaInto = () => {
  const name = uniqueName('sv_age_into');
  mariaMade.push(name);
  return { name, url: `mariadb://root@127.0.0.1:${MARIADB.port}/${name}` };
};
const stepvault = (workspace: Workspace, args: string[], env: NodeJS.ProcessEnv = process.env) =>
  runCli(args, { cwd: workspace.dir, env });
const pgExists = async (name: string) =>
  (await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${name}'`)).trim() === '1';

async function stepvaultKeygen(file: string): Promise<string> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c));
  await keygenCommand([], out, err);
  await writeFile(file, text, { mode: 0o600 });
  return /# public key: (age1\S+)/.exec(text)![1]!;
}

/** Every file under the workspace (backups, staging, outbox), with its bytes. */
async function everyFile(dir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return Promise.all(
    entries
      .filter((e) => e.isFile())
      .map(async (e) => ({
        file: path.join(e.parentPath, e.name),
        bytes: await readFile(path.join(e.parentPath, e.name)),
      })),
  );
}

beforeAll(async () => {
  keys = await mkdtemp(path.join(tmpdir(), 'stepvault-age-keys-'));
  key.operator = path.join(keys, 'operator.txt');
  key.breakGlass = path.join(keys, 'break-glass.txt');
  key.stranger = path.join(keys, 'stranger.txt');
  recipient.operator = await ageKeygen(key.operator);
  recipient.breakGlass = await stepvaultKeygen(key.breakGlass);
  recipient.stranger = await ageKeygen(key.stranger);
  process.env[DRILL_IDENTITY] = await readFile(key.operator, 'utf8');
  process.env[PASSPHRASE] = 'a passphrase for a small setup';

  await createDatabase(pgSource);
  await loadRichPostgres(pgSource);
  await psql(pgSource, `CREATE TABLE secret_marker (t text); INSERT INTO secret_marker VALUES ('${MARKER}')`);
  await createMariaDatabase(mariaSource);
  await loadRichMariadb(mariaSource);
  await mariadb(mariaSource, `CREATE TABLE secret_marker (t text); INSERT INTO secret_marker VALUES ('${MARKER}')`);

  pg = await pool.withConfig(
    configFor({
      ...pgTarget(),
      encryption: { age: { recipients: [recipient.operator, recipient.breakGlass] } },
      verify: {
        drill: { into: `postgres://postgres@127.0.0.1:${PG.port}/sv_age_drill`, identity: `env:${DRILL_IDENTITY}` },
      },
    }),
  );
  pgRecord = await pg.run('main');
  maria = await runnerWorkspace(
    pool,
    'lambda',
    {
      engine: 'mariadb',
      host: MARIADB.host,
      port: MARIADB.port,
      user: MARIADB.user,
      database: mariaSource,
      dump: { compression: 'none' },
      encryption: { age: { recipients: [recipient.operator] } },
    },
    { local: { type: 'filesystem', path: './backups', prefix: 'db' } },
  );
  mariaRecord = await maria.run('main');
}, 240_000);

afterAll(async () => {
  delete process.env[DRILL_IDENTITY];
  delete process.env[PASSPHRASE];
  await Promise.all([...pgMade, pgSource].map((name) => dropDatabase(name)));
  await Promise.all([...mariaMade, mariaSource].map((name) => dropMariaDatabase(name)));
  await pool.removeAll();
  if (keys) await rm(keys, { recursive: true, force: true });
});

describe('PostgreSQL, encrypted for two recipients, through the workflow (efs)', () => {
  it('stores an age file named .age whose manifest says for whom, the ciphertext checksum and the plaintext size', async () => {
    expect(pgRecord.status, pgRecord.cause).toBe('SUCCEEDED');
    const stored = storedBackup(pgRecord);
    expect(stored.key).toMatch(/\.dump\.age$/);
    const bytes = await readFile(path.join(pg.dir, 'backups', stored.key));
    expect(bytes.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    const manifest = JSON.parse(await readFile(path.join(pg.dir, 'backups', stored.manifestKey), 'utf8'));
    const { createHash } = await import('node:crypto');
    expect(manifest).toMatchObject({
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      encryption: {
        format: 'age',
        recipients: [recipientFingerprint(recipient.operator), recipientFingerprint(recipient.breakGlass)],
      },
    });
    const plain = Buffer.from(
      await age(['-d', '-i', key.operator, path.join(pg.dir, 'backups', stored.key)]),
      'latin1',
    );
    expect(manifest.encryption.plaintextSize).toBe(plain.length);
    expect(JSON.stringify(manifest)).not.toContain(recipient.operator);
  });

  it('passes the drill with the identity only the drill reads', () => {
    expect(pgRecord.state.verify?.drill).toMatchObject({ tables: expect.any(Number), rows: expect.any(Number) });
    expect(pgRecord.state.verify?.drillSkipped).toBeUndefined();
  });

  it('leaves the marker row nowhere in the workspace: destination, staging, mail', async () => {
    const files = await everyFile(pg.dir);
    expect(files.some((f) => f.file.endsWith('.age'))).toBe(true);
    for (const { file, bytes } of files) expect(bytes.includes(MARKER), file).toBe(false);
  });

  it('stages only ciphertext: the Dump step writes an age file the marker is not in', async () => {
    const runtime = createRuntime(loadConfig(pg.configFile), {
      logger: () => createJsonLogger({ level: 'error', write: () => undefined }),
    });
    const planned = await plan({ request: { target: 'main' }, execution: execution(new Date()) }, runtime);
    const staged = await dump(planned, runtime);
    try {
      expect(staged.kind).toBe('staged');
      const file = (staged as { file: string }).file;
      const bytes = await readFile(file);
      expect(bytes.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
      expect(bytes.includes(MARKER)).toBe(false);
      // The same bytes decrypted hold it: the search above could have found it.
      const plain = Buffer.from(await age(['-d', '-i', key.breakGlass, file]), 'latin1');
      expect(plain.subarray(0, 5).toString()).toBe('PGDMP');
      expect(plain.includes(MARKER)).toBe(true);
    } finally {
      await rm(planned.stagingDir, { recursive: true, force: true });
    }
  });

  it("decrypts with Debian's age and each recipient's identity; pg_restore restores the same contents", async () => {
    const stored = path.join(pg.dir, 'backups', storedBackup(pgRecord).key);
    for (const identity of [key.operator, key.breakGlass]) {
      const plainFile = path.join(keys, 'plain.dump');
      await age(['-d', '-i', identity, '-o', plainFile, stored]);
      const into = pgInto();
      await createDatabase(into.name);
      await pgRestore(plainFile, into.name);
      expect(await tableDigests(into.name)).toEqual(await tableDigests(pgSource));
    }
  });

  it('stepvault restore --identity FILE restores it; so does STEPVAULT_AGE_IDENTITY holding the identity', async () => {
    const into = pgInto();
    const byFile = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--identity',
      key.breakGlass,
      '--into',
      into.url,
    ]);
    expect(byFile.code, byFile.stderr).toBe(0);
    expect(await tableDigests(into.name)).toEqual(await tableDigests(pgSource));
    expect(await objectInventory(into.name)).toEqual(await objectInventory(pgSource));
    const again = pgInto();
    const env = { ...process.env, STEPVAULT_AGE_IDENTITY: await readFile(key.operator, 'utf8') };
    const byEnv = await stepvault(pg, ['restore', '--target', 'main', '--into', again.url], env);
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(await tableDigests(again.name)).toEqual(await tableDigests(pgSource));
  });

  it('refuses a wrong identity and a missing one, before any database is created', async () => {
    const into = pgInto();
    const wrong = await stepvault(pg, ['restore', '--target', 'main', '--identity', key.stranger, '--into', into.url]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('cannot be decrypted with the identity given: it was encrypted for');
    expect(wrong.stderr).toContain(recipientFingerprint(recipient.operator));
    expect(await pgExists(into.name)).toBe(false);
    const none = await stepvault(pg, ['restore', '--target', 'main', '--into', into.url], {
      ...process.env,
      STEPVAULT_AGE_IDENTITY: '',
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('is encrypted with age (for sha256:');
    expect(none.stderr).toContain('--identity FILE');
    expect(await pgExists(into.name)).toBe(false);
    const literal = await stepvault(pg, [
      'restore',
      '--target',
      'main',
      '--identity',
      (await readFile(key.operator, 'utf8')).split('\n')[2]!,
      '--into',
      into.url,
    ]);
    expect(literal.code).toBe(2);
    expect(literal.stderr).toContain('--identity is the identity itself');
  });

  it('refuses a cut or altered ciphertext (by its checksum, and by age when the manifest was made to match)', async () => {
    const stored = storedBackup(pgRecord);
    const file = path.join(pg.dir, 'backups', stored.key);
    const manifestFile = path.join(pg.dir, 'backups', stored.manifestKey);
    const original = await readFile(file);
    const manifest = await readFile(manifestFile, 'utf8');
    const { createHash } = await import('node:crypto');
    try {
      const altered = Buffer.from(original);
      altered[Math.floor(altered.length / 2)]! ^= 0x01;
      for (const bad of [original.subarray(0, original.length - 1000), altered]) {
        await writeFile(file, bad);
        const into = pgInto();
        const refused = await stepvault(pg, [
          'restore',
          '--target',
          'main',
          '--identity',
          key.operator,
          '--into',
          into.url,
        ]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain('is not the backup its manifest describes');
        expect(await pgExists(into.name)).toBe(false);
        // A manifest rewritten to match: age's own authentication refuses the bytes.
        const m = JSON.parse(manifest);
        await writeFile(
          manifestFile,
          JSON.stringify({ ...m, size: bad.length, sha256: createHash('sha256').update(bad).digest('hex') }),
        );
        const forged = await stepvault(pg, [
          'restore',
          '--target',
          'main',
          '--identity',
          key.operator,
          '--into',
          into.url,
        ]);
        expect(forged.code).toBe(2);
        expect(forged.stderr).toContain('is not a whole, unaltered age file');
        expect(await pgExists(into.name)).toBe(false);
        await writeFile(manifestFile, manifest);
        await expect(age(['-d', '-i', key.operator, file])).rejects.toThrow();
      }
    } finally {
      await writeFile(file, original);
      await writeFile(manifestFile, manifest);
    }
  });

  it("restores a backup that Debian's age encrypted", async () => {
    const stored = storedBackup(pgRecord);
    const file = path.join(pg.dir, 'backups', stored.key);
    const manifestFile = path.join(pg.dir, 'backups', stored.manifestKey);
    const original = await readFile(file);
    const manifest = await readFile(manifestFile, 'utf8');
    const { createHash } = await import('node:crypto');
    try {
      const plainFile = path.join(keys, 'plain-for-age.dump');
      await age(['-d', '-i', key.operator, '-o', plainFile, file]);
      await age(['-r', recipient.stranger, '-o', file, plainFile]);
      const theirs = await readFile(file);
      expect(theirs.equals(original)).toBe(false);
      const m = JSON.parse(manifest);
      await writeFile(
        manifestFile,
        JSON.stringify({ ...m, size: theirs.length, sha256: createHash('sha256').update(theirs).digest('hex') }),
      );
      const into = pgInto();
      const restored = await stepvault(pg, [
        'restore',
        '--target',
        'main',
        '--identity',
        key.stranger,
        '--into',
        into.url,
      ]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await tableDigests(into.name)).toEqual(await tableDigests(pgSource));
    } finally {
      await writeFile(file, original);
      await writeFile(manifestFile, manifest);
    }
  });
});

describe('PostgreSQL, encrypted, on the fargate runner and copied to a second destination', () => {
  it('dumps in its task, and both destinations hold the same age file, which age opens and pg_restore restores', async () => {
    const workspace = await runnerWorkspace(
      pool,
      'fargate',
      { ...pgTarget(), encryption: { age: { recipients: [recipient.operator] } } },
      {
        first: { type: 'filesystem', path: './backups', prefix: 'db' },
        copy: { type: 'filesystem', path: './copies' },
      },
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.events.some((e) => e.type === 'state-entered' && e.state === 'FargateDump')).toBe(true);
    const files = await everyFile(workspace.dir);
    const stored = files.filter((f) => f.file.endsWith('.dump.age'));
    expect(stored).toHaveLength(2);
    expect(stored[0]!.bytes.equals(stored[1]!.bytes)).toBe(true);
    for (const { file, bytes } of files) expect(bytes.includes(MARKER), file).toBe(false);
    const plainFile = path.join(keys, 'fargate.dump');
    await age(['-d', '-i', key.operator, '-o', plainFile, stored[1]!.file]);
    const into = pgInto();
    await createDatabase(into.name);
    await pgRestore(plainFile, into.name);
    expect(await tableDigests(into.name)).toEqual(await tableDigests(pgSource));
  }, 120_000);
});

describe('the drill of an encrypted backup without an identity', () => {
  it('is skipped, and the run and its mail say why', async () => {
    const workspace = await pool.withConfig(
      configFor({
        ...pgTarget(),
        encryption: { age: { recipients: [recipient.operator] } },
        verify: { drill: { into: `postgres://postgres@127.0.0.1:${PG.port}/sv_age_drill` } },
      }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.verify?.drill).toBeUndefined();
    expect(record.state.verify?.drillSkipped).toContain('verify.drill.identity gives no identity');
    const [mail] = await workspace.outbox();
    expect(mail?.body).toContain('restore drill skipped: the backup is encrypted');
  });
});

describe('MariaDB, encrypted, streamed into its destination (lambda)', () => {
  it('stores an age file the marker is not in', async () => {
    expect(mariaRecord.status, mariaRecord.cause).toBe('SUCCEEDED');
    const stored = storedBackup(mariaRecord);
    expect(stored.key).toMatch(/\.sql\.age$/);
    const files = await everyFile(maria.dir);
    expect(files.some((f) => f.file.endsWith('.sql.age'))).toBe(true);
    for (const { file, bytes } of files) expect(bytes.includes(MARKER), file).toBe(false);
  });

  it("decrypts with Debian's age into SQL the mariadb client restores", async () => {
    const plainFile = path.join(keys, 'plain.sql');
    await age([
      '-d',
      '-i',
      key.operator,
      '-o',
      plainFile,
      path.join(maria.dir, 'backups', storedBackup(mariaRecord).key),
    ]);
    expect((await readFile(plainFile)).includes(MARKER)).toBe(true);
    const into = mariaInto();
    await createMariaDatabase(into.name);
    await restoreSqlDump(plainFile, into.name);
    expect(await mariaTableDigests(into.name)).toEqual(await mariaTableDigests(mariaSource));
  });

  it('stepvault restore --identity env:NAME restores it', async () => {
    const into = mariaInto();
    const restored = await stepvault(maria, [
      'restore',
      '--target',
      'main',
      '--identity',
      `env:${DRILL_IDENTITY}`,
      '--into',
      into.url,
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await mariaTableDigests(into.name)).toEqual(await mariaTableDigests(mariaSource));
  });
});

describe('the drill of an encrypted MariaDB backup', () => {
  const drilled = (identity: string) =>
    pool.withConfig(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        port: MARIADB.port,
        user: MARIADB.user,
        database: mariaSource,
        runner: 'efs',
        encryption: { age: { recipients: [recipient.operator] } },
        verify: { drill: { into: `mariadb://root@127.0.0.1:${MARIADB.port}/sv_age_drill`, identity } },
      }),
    );

  it('decrypts the staged file into the mariadb client and compares the rows', async () => {
    const record = await (await drilled(`env:${DRILL_IDENTITY}`)).run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.verify?.drill).toMatchObject({ tables: expect.any(Number), rows: expect.any(Number) });
  });

  it('fails the run in Verify, without retrying, when the identity opens nothing', async () => {
    process.env.STEPVAULT_TEST_STRANGER_IDENTITY = await readFile(key.stranger, 'utf8');
    try {
      const record = await (await drilled('env:STEPVAULT_TEST_STRANGER_IDENTITY')).run('main');
      expect(record.status).toBe('FAILED');
      expect(record.cause).toContain('DecryptionError');
      expect(record.cause).toContain('cannot be decrypted with the identity given');
      expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'Verify')).toHaveLength(0);
    } finally {
      delete process.env.STEPVAULT_TEST_STRANGER_IDENTITY;
    }
  });
});

describe('a passphrase instead of recipients', () => {
  it('encrypts with it, and restore opens the backup with the passphrase and refuses another', async () => {
    const workspace = await runnerWorkspace(
      pool,
      'lambda',
      {
        engine: 'mariadb',
        host: MARIADB.host,
        port: MARIADB.port,
        user: MARIADB.user,
        database: mariaSource,
        encryption: { age: { passphrase: `env:${PASSPHRASE}` } },
      },
      { local: { type: 'filesystem', path: './backups', prefix: 'db' } },
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const manifest = JSON.parse(
      await readFile(path.join(workspace.dir, 'backups', storedBackup(record).manifestKey), 'utf8'),
    );
    expect(manifest.encryption.recipients).toEqual(['scrypt']);
    const wrong = mariaInto();
    const refused = await stepvault(workspace, [
      'restore',
      '--target',
      'main',
      '--identity',
      `env:${DRILL_IDENTITY}`,
      '--into',
      wrong.url,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('it was encrypted for scrypt (a passphrase)');
    const into = mariaInto();
    const restored = await stepvault(workspace, [
      'restore',
      '--target',
      'main',
      '--identity',
      `env:${PASSPHRASE}`,
      '--into',
      into.url,
    ]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await mariaTableDigests(into.name)).toEqual(await mariaTableDigests(mariaSource));
  }, 120_000);
});
