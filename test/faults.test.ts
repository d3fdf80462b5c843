/**
 * The fault suite: real things going wrong under a real run (the real state machine, real
 * servers, real tools). Each fault must end in the failure branch with the right error name and
 * a mail that names the cause, publish nothing, leave no staging behind, and leave the earlier
 * backup of the same target as it was. The tally at the end is the "tried / survived" count.
 */
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mariaUser, mountTmpfs, publishedBackups, unmount } from './helpers/faults.ts';
import { createMariaDatabase, dropMariaDatabase, loadRichMariadb, MARIADB } from './helpers/mariadb.ts';
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
  await psql(pgDatabase, `CREATE TABLE t AS SELECT g AS id, md5(random()::text) || md5(random()::text) AS v FROM generate_series(1, 60000) g`);
  await createMariaDatabase(mariaDatabase);
  await loadRichMariadb(mariaDatabase);
}, 120_000);

afterAll(async () => {
  for (const dir of mounts) await unmount(dir);
  for (const cleanup of cleanups) await cleanup();
  await dropDatabase(pgDatabase);
  await dropMariaDatabase(mariaDatabase);
  await Promise.all(workspaces.map((w) => w.remove()));
  const survived = tally.filter((t) => t.survived).length;
  console.log(`faults tried: ${tally.length}, survived with nothing lost: ${survived}\n${tally.map((t) => `  ${t.survived ? 'ok  ' : 'LOST'} ${t.fault}`).join('\n')}`);
});

async function workspaceWith(config: unknown): Promise<Workspace> {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  await workspace.writeConfig(config);
  return workspace;
}

/** A good backup first, so that each fault can be shown to leave it alone. */
async function withEarlierBackup(config: Record<string, unknown>): Promise<{ workspace: Workspace; before: Awaited<ReturnType<typeof publishedBackups>> }> {
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
    await expectSurvived('full staging disk', workspace, record, { state: 'Dump', error: 'DumpError', cause: /staging is full: no space left in .*small-staging/, stagingRoot: small }, before);
  });

  it.each([
    ['EVENT', 'SELECT, LOCK TABLES, SHOW VIEW, TRIGGER'],
    ['SHOW VIEW', 'SELECT, LOCK TABLES, EVENT, TRIGGER'],
  ])('a MariaDB user without %s gets a ConfigError naming that privilege, not "check user and password"', async (missing, granted) => {
    const user = await mariaUser(mariaDatabase, granted);
    cleanups.push(user.drop);
    const variable = `SV_FAULT_PW_${user.user.toUpperCase()}`;
    process.env[variable] = user.password;
    const target = { engine: 'mariadb', host: MARIADB.host, port: MARIADB.port, user: user.user, password: `env:${variable}`, database: mariaDatabase };
    // The earlier backup is made by an account that can read everything.
    const { workspace, before } = await withEarlierBackup(configFor({ ...target, user: MARIADB.user, password: undefined }));
    await workspace.writeConfig(configFor(target));
    const record = await workspace.run('main');
    await expectSurvived(`MariaDB user without ${missing}`, workspace, record, { state: 'Dump', error: 'ConfigError', cause: new RegExp(`lacks the ${missing} privilege`) }, before);
    expect(record.cause).not.toContain('check user and password');
  });

  it('TLS required against a PostgreSQL without TLS is a ConfigError, not retried', async () => {
    const { workspace, before } = await withEarlierBackup(configFor(pgTarget));
    await workspace.writeConfig(configFor({ ...pgTarget, tls: { mode: 'require' } }));
    const record = await workspace.run('main');
    await expectSurvived('TLS required, PostgreSQL without TLS', workspace, record, { state: 'Dump', error: 'ConfigError', cause: /server does not support SSL.*tls\.mode|tls\.mode is require.*does not support SSL/ }, before);
  });
});
