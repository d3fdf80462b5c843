/**
 * The fault suite: real things going wrong under a real run (the real state machine, real
 * servers, real tools). Each fault must end in the failure branch with the right error name and
 * a mail that names the cause, publish nothing, leave no staging behind, and leave the earlier
 * backup of the same target as it was. The tally at the end is the "tried / survived" count.
 */
import path from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { CLI } from './helpers/cli.ts';
import { mariaUser, mountTmpfs, processesMentioning, publishedBackups, unmount, waitFor } from './helpers/faults.ts';
import { longestRunMs } from '../src/steps/stale-staging.ts';
import { startCluster, type PgCluster } from './helpers/pg-cluster.ts';
import { stat } from 'node:fs/promises';
import { pgRestore } from './helpers/postgres.ts';
import { loadConfig } from '../src/config/load.ts';
import { executionDefinition } from '../src/statemachine/execution-timeout.ts';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb, MARIADB, mariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, type Workspace } from './helpers/workspace.ts';

const pgDatabase = uniqueName('sv_pg_faults');
const mariaDatabase = uniqueName('sv_maria_faults');
const pgTarget = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgDatabase };
const workspaces: Workspace[] = [];
const mounts: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
const tally: { fault: string; survived: boolean }[] = [];

beforeAll(async () => {
  await createDatabase(pgDatabase);
  // Random text does not compress: the dump is several megabytes, more than a 1 MB staging holds.
  await psql(
    pgDatabase,
    `CREATE TABLE t AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 60000) g`,
  );
  await createMariaDatabase(mariaDatabase);
  await loadRichMariadb(mariaDatabase);
}, 120_000);

afterAll(async () => {
  // Every step runs even when one fails, so a failed test leaves nothing behind on the servers.
  const steps = [
    ...mounts.map((dir) => () => unmount(dir)),
    ...cleanups,
    () => dropDatabase(pgDatabase),
    () => dropMariaDatabase(mariaDatabase),
    ...workspaces.map((w) => () => w.remove()),
  ];
  const failures: unknown[] = [];
  for (const step of steps) await step().catch((error: unknown) => failures.push(error));
  const survived = tally.filter((t) => t.survived).length;
  console.log(
    `faults tried: ${tally.length}, survived with nothing lost: ${survived}\n${tally.map((t) => `  ${t.survived ? 'ok  ' : 'LOST'} ${t.fault}`).join('\n')}`,
  );
  if (failures.length > 0) throw new AggregateError(failures, 'cleaning up after the fault suite failed');
});

async function workspaceWith(config: unknown): Promise<Workspace> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(config);
  return workspace;
}

/** A good backup first, so that each fault can be shown to leave it alone. */
async function withEarlierBackup(
  config: Record<string, unknown>,
): Promise<{ workspace: Workspace; before: Awaited<ReturnType<typeof publishedBackups>> }> {
  const workspace = await workspaceWith(config);
  const good = await workspace.run('main');
  expect(good.status, good.cause).toBe('SUCCEEDED');
  const before = await publishedBackups(path.join(workspace.dir, 'backups'));
  expect(before.backups).toHaveLength(1);
  return { workspace, before };
}

/**
 * What every fault must show: the failure branch with the expected error, no retries for an
 * error that retrying cannot cure, one failure mail naming the cause, the staging folder empty,
 * nothing new published, and the earlier backup's bytes unchanged.
 */
async function expectSurvived(
  fault: string,
  workspace: Workspace,
  record: RunRecord,
  expected: { state: string; error: string; cause: RegExp; retried?: boolean; stagingRoot?: string },
  before: Awaited<ReturnType<typeof publishedBackups>>,
): Promise<void> {
  tally.push({ fault, survived: false });
  expect(record.status).toBe('FAILED');
  expect(record.failedState).toBe(expected.state);
  expect(record.error).toBe(expected.error);
  expect(record.cause).toMatch(expected.cause);
  const retries = record.events.filter((e) => e.type === 'state-retried' && e.state === expected.state);
  if (!expected.retried) expect(retries).toEqual([]);
  const mails = (await workspace.outbox()).filter((m) => m.headers['x-stepvault-outcome'] === 'failure');
  expect(mails).toHaveLength(1);
  expect(mails[0]!.body).toContain(`Error:     ${expected.error}\n`);
  expect(mails[0]!.body).toMatch(expected.cause);
  const staging = expected.stagingRoot ?? path.join(workspace.dir, 'staging');
  expect(await readdir(staging).catch(() => [])).toEqual([]);
  const after = await publishedBackups(path.join(workspace.dir, 'backups'));
  expect(after).toEqual(before);
  for (const backup of after.backups) expect(backup.sha256).toBe(backup.manifestSha256);
  tally[tally.length - 1]!.survived = true;
}

describe('faults in the dump step', () => {
  it('a full staging disk is a DumpError that says "staging is full", not retried', async () => {
    const { workspace, before } = await withEarlierBackup(configFor(pgTarget));
    const small = path.join(workspace.dir, 'small-staging');
    await mountTmpfs(small, '1m');
    mounts.push(small);
    await workspace.writeConfig(configFor({ ...pgTarget, staging: small }));
    const record = await workspace.run('main');
    await expectSurvived(
      'full staging disk',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'DumpError',
        cause: /staging is full: no space left in .*small-staging/,
        stagingRoot: small,
      },
      before,
    );
  });

  it('a full staging disk under a parallel dump (pg_dump’s folder and the tar beside it) says so, not retried', async () => {
    const { workspace, before } = await withEarlierBackup(configFor(pgTarget));
    const small = path.join(workspace.dir, 'small-staging-parallel');
    await mountTmpfs(small, '1m');
    mounts.push(small);
    await workspace.writeConfig(configFor({ ...pgTarget, staging: small, dump: { jobs: 2 } }));
    const record = await workspace.run('main');
    await expectSurvived(
      'full staging disk, parallel dump',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'DumpError',
        // Whichever fills it first: pg_dump writing its folder, or the tar of the finished tables.
        cause:
          /(staging is full: no space left in .*small-staging-parallel|no space left in .*small-staging-parallel.* for pg_dump's directory)/,
        stagingRoot: small,
      },
      before,
    );
  });

  /** A MariaDB target dumped as a user with these grants; the earlier backup is made as root. */
  async function mariaTargetAs(privileges: string, elsewhere: string[] = []) {
    const user = await mariaUser(mariaDatabase, privileges, elsewhere);
    cleanups.push(user.drop);
    const variable = `SV_FAULT_PW_${user.user.toUpperCase()}`;
    process.env[variable] = user.password;
    const target = {
      engine: 'mariadb',
      host: MARIADB.host,
      port: MARIADB.port,
      user: user.user,
      password: `env:${variable}`,
      database: mariaDatabase,
    };
    const { workspace, before } = await withEarlierBackup(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        port: MARIADB.port,
        user: MARIADB.user,
        database: mariaDatabase,
      }),
    );
    await workspace.writeConfig(configFor(target));
    return { workspace, before, target };
  }

  it.each([
    ['EVENT', 'SELECT, LOCK TABLES, SHOW VIEW, TRIGGER'],
    ['SHOW VIEW', 'SELECT, LOCK TABLES, EVENT, TRIGGER'],
  ])(
    'a MariaDB user without %s gets a ConfigError naming that privilege, not "check user and password"',
    async (missing, granted) => {
      const { workspace, before } = await mariaTargetAs(granted, ['SELECT ON mysql.proc']);
      const record = await workspace.run('main');
      await expectSurvived(
        `MariaDB user without ${missing}`,
        workspace,
        record,
        { state: 'Dump', error: 'ConfigError', cause: new RegExp(`lacks the ${missing} privilege`) },
        before,
      );
      expect(record.cause).not.toContain('check user and password');
    },
  );

  it('a MariaDB user that may not read routines fails the run instead of dropping them in silence', async () => {
    // The usual backup grants on the database: mariadb-dump exits 0 without the procedure and function.
    const { workspace, before } = await mariaTargetAs('SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER');
    const record = await workspace.run('main');
    await expectSurvived(
      'MariaDB user without routine access',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'ConfigError',
        cause: /may not read the database's routines: the dump would leave them out.*GRANT SELECT ON mysql\.proc/,
      },
      before,
    );
  });

  it('a MariaDB user that sees the routines but may not read their bodies gets a ConfigError that says so', async () => {
    // ALL on the database lists the routines to the user; their bodies need more.
    const { workspace, before } = await mariaTargetAs('ALL PRIVILEGES');
    const record = await workspace.run('main');
    await expectSurvived(
      'MariaDB user who cannot read routine bodies',
      workspace,
      record,
      { state: 'Dump', error: 'ConfigError', cause: /lacks a privilege to read routines.*GRANT SELECT ON mysql\.proc/ },
      before,
    );
  });

  it('a MariaDB user that may not see triggers fails the run instead of dropping them in silence', async () => {
    const { workspace, before } = await mariaTargetAs('SELECT, LOCK TABLES, SHOW VIEW, EVENT', [
      'SELECT ON mysql.proc',
    ]);
    const record = await workspace.run('main');
    await expectSurvived(
      'MariaDB user without TRIGGER',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'ConfigError',
        cause: /may not read the database's triggers.*GRANT TRIGGER ON `sv_maria_faults_\w+`\.\*/,
      },
      before,
    );
  });

  it('a MariaDB user with the README grants dumps every routine, trigger, event and view', async () => {
    const { workspace } = await mariaTargetAs('SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER', [
      'SELECT ON mysql.proc',
    ]);
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const latest = (await publishedBackups(path.join(workspace.dir, 'backups'))).backups
      .map((b) => b.key)
      .find(
        (k) =>
          k.endsWith(`.sql.zst`) && record.state.upload?.some((u) => u.status === 'stored' && u.location.endsWith(k)),
      );
    const sql = zstdDecompressSync(await readFile(path.join(workspace.dir, 'backups', latest!))).toString('utf8');
    expect(sql.match(/^CREATE DEFINER=\S+ (PROCEDURE|FUNCTION) /gm)).toHaveLength(2);
    expect(sql).toMatch(/TRIGGER customers_ai/);
    expect(sql).toMatch(/EVENT `purge_log`/);
    expect(sql).toMatch(/VIEW `expensive`/);
  });

  it('TLS required against a MariaDB without TLS is a ConfigError, even where the client would fall back to clear text', async () => {
    const { workspace, before } = await withEarlierBackup(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        port: MARIADB.port,
        user: MARIADB.user,
        database: mariaDatabase,
      }),
    );
    await workspace.writeConfig(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        port: MARIADB.port,
        user: MARIADB.user,
        database: mariaDatabase,
        tls: { mode: 'require' },
      }),
    );
    const record = await workspace.run('main');
    await expectSurvived(
      'TLS required, MariaDB without TLS',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'ConfigError',
        cause:
          /tls\.mode is require.*(does not support SSL|not support it)|not encrypted although .*tls\.mode is require/,
      },
      before,
    );
  });

  it('a PostgreSQL user that may not read a table gets a ConfigError naming it, not "check user and password"', async () => {
    const role = uniqueName('sv_reader');
    await psql(
      pgDatabase,
      `CREATE ROLE ${role} LOGIN; GRANT CONNECT ON DATABASE ${pgDatabase} TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}`,
    );
    // DROP OWNED in the database revokes its grants there and on the database itself.
    cleanups.push(async () => {
      await psql(pgDatabase, `DROP OWNED BY ${role}`);
      await psql('postgres', `DROP ROLE ${role}`);
    });
    const { workspace, before } = await withEarlierBackup(configFor(pgTarget));
    await workspace.writeConfig(configFor({ ...pgTarget, user: role }));
    const record = await workspace.run('main');
    await expectSurvived(
      'PostgreSQL user without SELECT on a table',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'ConfigError',
        cause: new RegExp(
          `user ${role} of target main .* may not read everything the dump needs: .*permission denied for table t`,
        ),
      },
      before,
    );
    expect(record.cause).not.toContain('check user and password');
  });

  it('TLS required against a PostgreSQL without TLS is a ConfigError, not retried', async () => {
    const { workspace, before } = await withEarlierBackup(configFor(pgTarget));
    await workspace.writeConfig(configFor({ ...pgTarget, tls: { mode: 'require' } }));
    const record = await workspace.run('main');
    await expectSurvived(
      'TLS required, PostgreSQL without TLS',
      workspace,
      record,
      {
        state: 'Dump',
        error: 'ConfigError',
        cause: /server does not support SSL.*tls\.mode|tls\.mode is require.*does not support SSL/,
      },
      before,
    );
  });
});

describe('interrupted runs', () => {
  const lockedDatabase = uniqueName('sv_pg_signal');
  const lockedTarget = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: lockedDatabase };
  let locker: ChildProcess | undefined;

  beforeAll(async () => {
    await createDatabase(lockedDatabase);
    await psql(lockedDatabase, `CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g`);
  });

  afterAll(async () => {
    await releaseLock();
    await dropDatabase(lockedDatabase);
  });

  /**
   * Another session holds an exclusive lock on the table: a real pg_dump waits on it, mid-dump, for as long as the test
   * wants.
   */
  async function holdLock(): Promise<void> {
    locker = spawn(
      'psql',
      [
        '-h',
        PG.host,
        '-p',
        String(PG.port),
        '-U',
        PG.user,
        '-d',
        lockedDatabase,
        '-Xq',
        '-c',
        'BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)',
      ],
      {
        env: { ...process.env, PGAPPNAME: 'sv-faults-locker' },
        stdio: 'ignore',
      },
    );
    await waitFor(
      'the lock',
      async () =>
        (await psql(
          lockedDatabase,
          `SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock' AND l.granted`,
        )) === '1',
    );
  }

  async function releaseLock(): Promise<void> {
    locker?.kill('SIGKILL');
    locker = undefined;
    await psql(
      'postgres',
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sv-faults-locker' AND datname = '${lockedDatabase}'`,
    );
  }

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops pg_dump, removes the run’s staging, says so and exits %i; nothing is published',
    async (signal, code) => {
      const { workspace, before } = await withEarlierBackup(configFor(lockedTarget));
      await holdLock();
      try {
        const child = spawn(process.execPath, [CLI, 'run', '--config', workspace.configFile, '--target', 'main'], {
          cwd: workspace.dir,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
        const dumping = await waitFor('pg_dump to start', async () =>
          (await processesMentioning(lockedDatabase)).find((p) => /pg_dump/.test(p.args)),
        );
        expect(await readdir(path.join(workspace.dir, 'staging'))).toHaveLength(1);
        child.kill(signal);
        const exitCode = await exited;

        tally.push({ fault: `${signal} during the dump`, survived: false });
        expect(exitCode).toBe(code);
        expect(stdout).toContain(`Interrupted by ${signal} during Dump.`);
        expect(stdout).toContain(`stopped pg_dump (pid ${dumping.pid})`);
        expect(stdout).toMatch(/removed the run's staging folder .*staging\/main-\d{8}T\d{6}Z-[0-9a-f]{8}/);
        expect(stdout).toContain('nothing was published');
        expect(
          await processesMentioning(lockedDatabase).then((ps) => ps.filter((p) => /pg_dump|pg_restore/.test(p.args))),
        ).toEqual([]);
        expect(await readdir(path.join(workspace.dir, 'staging'))).toEqual([]);
        expect(await publishedBackups(path.join(workspace.dir, 'backups'))).toEqual(before);
        tally[tally.length - 1]!.survived = true;
      } finally {
        await releaseLock();
      }
    },
    60_000,
  );

  it('SIGINT stops mariadb-dump too, removes the run’s staging and exits 130', async () => {
    const database = uniqueName('sv_maria_signal');
    await createMariaDatabase(database);
    cleanups.push(() => dropMariaDatabase(database));
    await mariadb(database, 'CREATE TABLE t (id INT); INSERT INTO t VALUES (1)');
    const { workspace, before } = await withEarlierBackup(
      configFor({ engine: 'mariadb', host: MARIADB.host, port: MARIADB.port, user: MARIADB.user, database }),
    );
    // Another session's write lock: a real mariadb-dump waits on the table for as long as the test wants.
    const mariaLocker = spawn(
      'mariadb',
      [
        '--no-defaults',
        '-h',
        MARIADB.host,
        '-P',
        String(MARIADB.port),
        '-u',
        MARIADB.user,
        '--protocol=TCP',
        database,
        '-e',
        'LOCK TABLES t WRITE; SELECT SLEEP(600)',
      ],
      { stdio: 'ignore' },
    );
    const lockerSession = await waitFor('the lock', async () =>
      mariadb(
        undefined,
        `SELECT id FROM information_schema.processlist WHERE db = '${database}' AND info LIKE 'SELECT SLEEP(600)%'`,
      ),
    );
    try {
      const child = spawn(process.execPath, [CLI, 'run', '--config', workspace.configFile, '--target', 'main'], {
        cwd: workspace.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      const dumping = await waitFor('mariadb-dump to start', async () =>
        (await processesMentioning(database)).find((p) => /mariadb-dump|mysqldump/.test(p.args)),
      );
      child.kill('SIGINT');
      const exitCode = await exited;

      tally.push({ fault: 'SIGINT during a MariaDB dump', survived: false });
      expect(exitCode).toBe(130);
      expect(stdout).toContain('Interrupted by SIGINT during Dump.');
      expect(stdout).toMatch(new RegExp(`stopped (mariadb-dump|mysqldump) \\(pid ${dumping.pid}\\)`));
      expect(stdout).toContain('nothing was published');
      expect((await processesMentioning(database)).filter((p) => /mariadb-dump|mysqldump/.test(p.args))).toEqual([]);
      expect(await readdir(path.join(workspace.dir, 'staging'))).toEqual([]);
      expect(await publishedBackups(path.join(workspace.dir, 'backups'))).toEqual(before);
      tally[tally.length - 1]!.survived = true;
    } finally {
      mariaLocker.kill('SIGKILL');
      await mariadb(undefined, `KILL ${lockerSession}`).catch(() => undefined);
    }
  }, 60_000);

  it('a pg_dump killed mid-dump (SIGKILL) fails the run with a DumpError and publishes nothing', async () => {
    const { workspace, before } = await withEarlierBackup(configFor(lockedTarget));
    await holdLock();
    try {
      const running = workspace.run('main');
      const dumping = await waitFor('pg_dump to start', async () =>
        (await processesMentioning(lockedDatabase)).find((p) => /pg_dump/.test(p.args)),
      );
      // The run's own pg_dump, by its process id: as the OOM killer or a Lambda timeout would.
      process.kill(dumping.pid, 'SIGKILL');
      const record = await running;
      await expectSurvived(
        'pg_dump killed (SIGKILL) mid-dump',
        workspace,
        record,
        { state: 'Dump', error: 'DumpError', cause: /pg_dump of main was killed by SIGKILL.*nothing was published/ },
        before,
      );
    } finally {
      await releaseLock();
    }
  }, 60_000);

  it('off a terminal, a stalled dump still beats: a plain line on stdout, and a JSON progress line with --verbose', async () => {
    const workspace = await workspaceWith(configFor(lockedTarget));
    await holdLock();
    try {
      const child = spawn(
        process.execPath,
        [CLI, 'run', '--verbose', '--config', workspace.configFile, '--target', 'main'],
        {
          cwd: workspace.dir,
          env: { ...process.env, STEPVAULT_HEARTBEAT_SECONDS: '0.3' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      await waitFor(
        'two heartbeats',
        async () => (stdout.match(/^ {2}Dump: no progress reported yet \(running [\d.]+s\)$/gm)?.length ?? 0) >= 2,
      );
      await waitFor('a JSON progress line', async () =>
        stderr.split('\n').some((l) => /"message":"progress","service":"stepvault","state":"Dump"/.test(l)),
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(143);
    } finally {
      await releaseLock();
    }
  }, 60_000);

  it('a run removes staging folders untouched for longer than the longest possible run, and leaves a concurrent run’s alone', async () => {
    const workspace = await workspaceWith(configFor(lockedTarget));
    const staging = path.join(workspace.dir, 'staging');
    const machine = executionDefinition(loadConfig(workspace.configFile));
    const longest = longestRunMs(machine);
    // The state machine's own execution timeout (derived for this config): nothing else decides how long a run may
    // last.
    expect(longest).toBe((machine.TimeoutSeconds as number) * 1000);
    const folders = {
      stale: 'main-20260101T000000Z-0123abcd',
      concurrent: 'main-20260101T000001Z-4567cdef',
      notARun: 'notes',
    };
    for (const name of Object.values(folders)) {
      await mkdir(path.join(staging, name), { recursive: true });
      await writeFile(path.join(staging, name, 'partial.dump'), 'partial');
    }
    const age = async (name: string, ms: number) => {
      const when = new Date(Date.now() - ms);
      await utimes(path.join(staging, name, 'partial.dump'), when, when);
      await utimes(path.join(staging, name), when, when);
    };
    await age(folders.stale, longest + 60_000);
    await age(folders.concurrent, longest - 60_000);
    await age(folders.notARun, longest * 10);

    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect((await readdir(staging)).sort()).toEqual([folders.concurrent, folders.notARun].sort());
    expect(record.logs.some((l) => l.includes('stale staging removed') && l.includes(folders.stale))).toBe(true);
  });
});

describe('a PostgreSQL killed mid-dump', () => {
  let cluster: PgCluster;
  const database = 'orders';
  const tables = 12;
  /** Rows and an md5 of their text per table: what a restore must bring back. */
  const digest = (port?: number, db = database) =>
    psql(
      db,
      `SELECT string_agg(format('%s=%s', c.relname, (xpath('/row/d/text()', query_to_xml(format('SELECT count(*) || '':'' || md5(string_agg(t::text, '','' ORDER BY id)) AS d FROM %I t', c.relname), false, true, '')))[1]::text), ' ' ORDER BY c.relname) FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`,
      port,
    );

  beforeAll(async () => {
    cluster = await startCluster();
    await psql('postgres', `CREATE DATABASE ${database}`, cluster.port);
    // Several tables of text that compresses poorly: pg_dump needs seconds and many queries.
    for (let i = 0; i < tables; i++) {
      await psql(
        database,
        `CREATE TABLE t${i} AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 60000) g`,
        cluster.port,
      );
    }
  }, 180_000);

  afterAll(async () => {
    await cluster?.remove();
  });

  it('fails through the failure branch, publishes nothing, cleans staging, and leaves the earlier backup restorable', async () => {
    const target = { engine: 'postgres', host: '127.0.0.1', port: cluster.port, user: 'postgres', database };
    const { workspace, before } = await withEarlierBackup(configFor(target));
    const expected = await digest(cluster.port);

    const child = spawn(
      process.execPath,
      [CLI, 'run', '--retry-delay-ms', '10', '--config', workspace.configFile, '--target', 'main'],
      { cwd: workspace.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const exited = new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
    // Mid-dump: the staging file has started to fill.
    const staged = await waitFor('the dump to be under way', async () => {
      for (const entry of await readdir(path.join(workspace.dir, 'staging'), { recursive: true }).catch(() => [])) {
        const file = path.join(workspace.dir, 'staging', String(entry));
        if (String(entry).endsWith('.dump') && ((await stat(file).catch(() => undefined))?.size ?? 0) > 256 * 1024)
          return file;
      }
      return undefined;
    });
    await cluster.kill();
    const exitCode = await exited;

    tally.push({ fault: 'PostgreSQL server killed (SIGKILL) mid-dump', survived: false });
    expect(exitCode, stdout).toBe(1);
    expect(stdout).toMatch(/Backup of main FAILED in Dump: ConnectionError: /);
    const failure = (await workspace.outbox()).filter((m) => m.headers['x-stepvault-outcome'] === 'failure');
    expect(failure).toHaveLength(1);
    expect(failure[0]!.body).toContain('Error:     ConnectionError\n');
    expect(failure[0]!.body).toMatch(
      /cannot reach PostgreSQL for target main .*(Connection refused|server closed the connection|terminating connection)/,
    );
    expect(await stat(staged).catch(() => undefined)).toBeUndefined();
    expect(await readdir(path.join(workspace.dir, 'staging'))).toEqual([]);
    const after = await publishedBackups(path.join(workspace.dir, 'backups'));
    expect(after).toEqual(before);

    // The earlier backup restores to exactly the rows the server held.
    const restored = uniqueName('sv_pg_restored');
    await createDatabase(restored);
    cleanups.push(() => dropDatabase(restored));
    await pgRestore(path.join(workspace.dir, 'backups', before.backups[0]!.key), restored);
    expect(await digest(undefined, restored)).toBe(expected);
    tally[tally.length - 1]!.survived = true;
  }, 240_000);
});
