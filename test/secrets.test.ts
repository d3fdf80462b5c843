/**
 * A password reaches the dump tool and nothing else: not its arguments, not the logs, not a
 * state's input or output, not the manifest, not the mail, not the command's output.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingTool } from './helpers/fake-tools.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, type Workspace } from './helpers/workspace.ts';

const run = promisify(execFile);
const PASSWORD = `Sv-t3st"quote'and\\back$lash;pw`;
const pgDatabase = uniqueName('sv_pg_secret');
const mariaDatabase = uniqueName('sv_maria_secret');
const mariaUser = uniqueName('svsecret');
let toolsDir: string;
const workspaces: Workspace[] = [];

beforeAll(async () => {
  process.env.STEPVAULT_TEST_DB_PASSWORD = PASSWORD;
  toolsDir = await mkdtemp(path.join(tmpdir(), 'stepvault-tools-'));
  for (const tool of ['pg_dump', 'mariadb-dump']) await recordingTool(toolsDir, tool, path.join(toolsDir, 'argv.log'));
  process.env.STEPVAULT_TOOLS_DIR = toolsDir;

  await createDatabase(pgDatabase);
  await psql(pgDatabase, `CREATE TABLE t AS SELECT 1 AS id`);
  await createMariaDatabase(mariaDatabase);
  await mariadb(mariaDatabase, `CREATE TABLE t (id INT); INSERT INTO t VALUES (1)`);
  await mariadb(
    undefined,
    `CREATE USER '${mariaUser}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; GRANT ALL ON \`${mariaDatabase}\`.* TO '${mariaUser}'@'127.0.0.1'`,
  );
});

afterAll(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  await dropDatabase(pgDatabase);
  await dropMariaDatabase(mariaDatabase);
  await mariadb(undefined, `DROP USER IF EXISTS '${mariaUser}'@'127.0.0.1'`);
  await rm(toolsDir, { recursive: true, force: true });
  await Promise.all(workspaces.map((w) => w.remove()));
});

async function everythingVisible(workspace: Workspace, record: RunRecord): Promise<string> {
  const files = (await readdir(workspace.dir, { recursive: true })).filter((f) => /\.(json|eml)$/.test(f));
  const contents = await Promise.all(files.map((f) => readFile(path.join(workspace.dir, f), 'utf8')));
  return [
    JSON.stringify(record.events),
    record.logs.join('\n'),
    JSON.stringify(record.state),
    record.cause ?? '',
    ...contents,
    await readFile(path.join(toolsDir, 'argv.log'), 'utf8'),
  ].join('\n');
}

describe('secrets', () => {
  it('MariaDB: the password logs the tool in through its option file and appears nowhere', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        user: mariaUser,
        password: 'env:STEPVAULT_TEST_DB_PASSWORD',
        database: mariaDatabase,
      }),
    );
    const record = await workspace.run('main');
    // Success proves the password was delivered: this user has no other way in.
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const seen = await everythingVisible(workspace, record);
    expect(seen).toContain('--defaults-file=');
    expect(seen).not.toContain(PASSWORD);
    expect(seen).not.toContain('Sv-t3st');
  });

  it('PostgreSQL: the password goes by environment, never in argv, logs, payloads, manifest or mail', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor({
        engine: 'postgres',
        host: PG.host,
        user: PG.user,
        password: 'env:STEPVAULT_TEST_DB_PASSWORD',
        database: pgDatabase,
      }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const seen = await everythingVisible(workspace, record);
    expect(seen).toContain('--format=custom');
    expect(seen).not.toContain('Sv-t3st');
  });

  it('a wrong password fails without echoing it, and is not retried', async () => {
    process.env.STEPVAULT_TEST_WRONG_PASSWORD = 'Wr0ng-Sv-t3st-pw';
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor({
        engine: 'mariadb',
        host: MARIADB.host,
        user: mariaUser,
        password: 'env:STEPVAULT_TEST_WRONG_PASSWORD',
        database: mariaDatabase,
      }),
    );
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    expect(record.error).toBe('ConfigError');
    expect(record.events.some((e) => e.type === 'state-retried')).toBe(false);
    expect(record.cause).toContain(`cannot log in to main`);
    const seen = await everythingVisible(workspace, record);
    expect(seen).toContain('Access denied');
    expect(seen).not.toContain('Wr0ng');
  });

  it('the command line prints no secret either', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(
      configFor({
        engine: 'postgres',
        host: PG.host,
        user: PG.user,
        password: 'env:STEPVAULT_TEST_DB_PASSWORD',
        database: pgDatabase,
      }),
    );
    const cli = path.join(import.meta.dirname, '../bin/stepvault.js');
    const { stdout, stderr } = await run(
      process.execPath,
      [cli, 'run', '--config', workspace.configFile, '--verbose'],
      { env: process.env },
    );
    expect(stdout).toContain('Backup of main succeeded');
    expect(stderr).toContain('"message":"dump finished"');
    expect(`${stdout}${stderr}`).not.toContain('Sv-t3st');
  });
});
