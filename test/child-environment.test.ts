/**
 * Every database tool stepvault starts (the `--version` probe, the dump, the archive check, the
 * restore drill, the restore and its preparation) gets a minimal environment: the parent's AWS keys, other targets'
 * passwords and stray libpq settings never reach it. Proven with stand-ins that record what they got.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { environmentRecordingTool, recordedStarts } from './helpers/fake-tools.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const LEAKS = {
  AWS_SECRET_ACCESS_KEY: 'aws-secret-that-must-stay-home',
  OTHER_DB_PASSWORD: 'other-targets-password',
  PGDATABASE: 'not_the_one_to_dump',
  MYSQL_PWD: 'a-stray-mysql-password',
};
const databases: { engine: 'pg' | 'maria'; name: string }[] = [];
const workspaces: Workspace[] = [];
let tools: string;

beforeAll(async () => {
  tools = await mkdtemp(path.join(tmpdir(), 'stepvault-envtools-'));
});

afterAll(async () => {
  for (const { engine, name } of databases) await (engine === 'pg' ? dropDatabase(name) : dropMariaDatabase(name));
  for (const workspace of workspaces) await workspace.remove();
  await rm(tools, { recursive: true, force: true });
});

async function backUpAndRestore(
  engine: 'postgres' | 'mariadb',
  names: string[],
  source: string,
  into: string,
): Promise<ReturnType<typeof recordedStarts>> {
  const dir = path.join(tools, engine);
  const log = path.join(dir, 'starts.log');
  for (const name of names) await environmentRecordingTool(dir, name, log);
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  const connection =
    engine === 'postgres'
      ? { host: PG.host, port: PG.port, user: PG.user }
      : { host: MARIADB.host, port: MARIADB.port, user: MARIADB.user };
  const drill = {
    into:
      engine === 'postgres'
        ? `postgres://postgres@127.0.0.1:${PG.port}/sv_envdrill`
        : `mariadb://root@127.0.0.1:${MARIADB.port}/sv_envdrill`,
  };
  await workspace.writeConfig(
    configFor(
      { engine, ...connection, database: source },
      {
        targets: {
          main: { engine, ...connection, database: source, verify: { drill } },
          other: { engine, ...connection, database: 'elsewhere', password: 'env:OTHER_DB_PASSWORD' },
        },
      },
    ),
  );
  const env = { ...process.env, ...LEAKS, STEPVAULT_TOOLS_DIR: dir };
  const backup = await runCli(['run', '--target', 'main'], { cwd: workspace.dir, env });
  expect(backup.code, backup.stdout + backup.stderr).toBe(0);
  const url =
    engine === 'postgres'
      ? `postgres://postgres@127.0.0.1:${PG.port}/${into}`
      : `mariadb://root@127.0.0.1:${MARIADB.port}/${into}`;
  const restored = await runCli(['restore', '--target', 'main', '--into', url], { cwd: workspace.dir, env });
  expect(restored.code, restored.stdout + restored.stderr).toBe(0);
  return recordedStarts(await readFile(log, 'utf8'));
}

function expectMinimal(starts: ReturnType<typeof recordedStarts>): void {
  for (const start of starts) {
    for (const name of Object.keys(LEAKS)) expect(start.env, `${start.tool} ${start.args}`).not.toHaveProperty(name);
    expect(Object.values(start.env).join('\n'), `${start.tool} ${start.args}`).not.toMatch(
      /aws-secret-that-must-stay-home|other-targets-password/,
    );
    expect(start.env.PATH, start.tool).toBeTruthy();
    expect(start.env.LC_ALL).toBe('C.UTF-8');
  }
}

describe('the environment of every tool stepvault starts', () => {
  it('PostgreSQL: the probe, pg_dump, the archive check, the drill, psql and pg_restore see no AWS key and no other secret', async () => {
    const source = uniqueName('sv_env_pg');
    const into = uniqueName('sv_env_pg_into');
    databases.push({ engine: 'pg', name: source }, { engine: 'pg', name: into });
    await createDatabase(source);
    await psql(source, `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)`);
    const starts = await backUpAndRestore('postgres', ['pg_dump', 'pg_restore', 'psql'], source, into);
    expect(starts.map((s) => s.tool)).toEqual(expect.arrayContaining(['pg_dump', 'pg_restore', 'psql']));
    expect(starts.some((s) => s.tool === 'pg_dump' && s.args === '--version')).toBe(true);
    expect(starts.some((s) => s.tool === 'pg_restore' && s.args.includes('sv_envdrill_'))).toBe(true);
    expectMinimal(starts);
    expect(await psql(into, 'SELECT count(*) FROM t')).toBe('2');
  });

  it('MariaDB: the probe, mariadb-dump, the drill and the mariadb client see no AWS key and no other secret', async () => {
    const source = uniqueName('sv_env_maria');
    const into = uniqueName('sv_env_maria_into');
    databases.push({ engine: 'maria', name: source }, { engine: 'maria', name: into });
    await createMariaDatabase(source);
    await mariadb(source, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)');
    const starts = await backUpAndRestore('mariadb', ['mariadb-dump', 'mariadb'], source, into);
    expect(starts.map((s) => s.tool)).toEqual(expect.arrayContaining(['mariadb-dump', 'mariadb']));
    expect(starts.some((s) => s.tool === 'mariadb-dump' && s.args === '--version')).toBe(true);
    expect(starts.some((s) => s.tool === 'mariadb' && /-- sv_envdrill_/.test(s.args))).toBe(true);
    expectMinimal(starts);
    expect(await mariadb(into, 'SELECT count(*) FROM t')).toBe('2');
  });
});
