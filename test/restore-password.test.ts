/**
 * The restore password without argv: from STEPVAULT_RESTORE_PASSWORD or a prompt without echo,
 * handed to the tools by environment (libpq) or a 0600 option file (MariaDB), never in any
 * process's arguments. Proven against a MariaDB account that needs the password, with tool
 * stand-ins that record their arguments and environment, and a real terminal for the prompt.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './helpers/cli.ts';
import { environmentRecordingTool, recordedStarts } from './helpers/fake-tools.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB, mariadb } from './helpers/mariadb.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const PASSWORD = 'Rst0re-only-in-env';
const mariaSource = uniqueName('sv_pw_maria');
const pgSource = uniqueName('sv_pw_pg');
const user = uniqueName('sv_pw_user');
const databases: { engine: 'pg' | 'maria'; name: string }[] = [];
let maria: Workspace;
let pg: Workspace;
let tools: string;

function into(engine: 'pg' | 'maria'): string {
  const name = uniqueName(`sv_pw_${engine}_into`);
  databases.push({ engine, name });
  return name;
}

beforeAll(async () => {
  tools = await mkdtemp(path.join(tmpdir(), 'stepvault-pwtools-'));
  await createMariaDatabase(mariaSource);
  await mariadb(mariaSource, 'CREATE TABLE t (id INT); INSERT INTO t VALUES (1), (2), (3)');
  maria = await createWorkspace();
  await maria.writeConfig(
    configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database: mariaSource }),
  );
  expect((await maria.run('main')).status).toBe('SUCCEEDED');
  await mariadb(undefined, `CREATE USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await mariadb(undefined, `GRANT ALL ON \`sv\\_pw\\_maria\\_into\\_%\`.* TO '${user}'@'%'`);

  await createDatabase(pgSource);
  await psql(pgSource, 'CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3)');
  pg = await createWorkspace();
  await pg.writeConfig(
    configFor({ engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database: pgSource }),
  );
  expect((await pg.run('main')).status).toBe('SUCCEEDED');
});

afterAll(async () => {
  await mariadb(undefined, `DROP USER IF EXISTS '${user}'@'%'`);
  await dropMariaDatabase(mariaSource);
  await dropDatabase(pgSource);
  for (const { engine, name } of databases) await (engine === 'pg' ? dropDatabase(name) : dropMariaDatabase(name));
  await maria?.remove();
  await pg?.remove();
  await rm(tools, { recursive: true, force: true });
});

describe('the restore password, kept out of every argv', () => {
  it('MariaDB: an account that needs a password is restored into with the password only in STEPVAULT_RESTORE_PASSWORD', async () => {
    const dir = path.join(tools, 'maria');
    const log = path.join(dir, 'starts.log');
    await environmentRecordingTool(dir, 'mariadb', log);
    const name = into('maria');
    const url = `mariadb://${user}@127.0.0.1:${MARIADB.port}/${name}`;

    const without = await runCli(['restore', '--target', 'main', '--into', url], {
      cwd: maria.dir,
      env: { ...process.env, STEPVAULT_TOOLS_DIR: dir },
    });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(
      new RegExp(
        `^stepvault: cannot log in to 127\\.0\\.0\\.1:${MARIADB.port} as ${user}: ERROR 1045 \\(28000\\): Access denied for user`,
      ),
    );

    const { code, stdout, stderr } = await runCli(['restore', '--target', 'main', '--into', url], {
      cwd: maria.dir,
      env: { ...process.env, STEPVAULT_TOOLS_DIR: dir, STEPVAULT_RESTORE_PASSWORD: PASSWORD },
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`restored into 127.0.0.1:${MARIADB.port}/${name}`);
    expect(await mariadb(name, 'SELECT COUNT(*) FROM t')).toBe('3');

    const starts = recordedStarts(await readFile(log, 'utf8'));
    expect(starts.length).toBeGreaterThanOrEqual(3);
    for (const start of starts) {
      expect(start.args).not.toContain(PASSWORD);
      expect(start.args).toMatch(/^--defaults-file=\S+client\.cnf /);
      expect(Object.values(start.env).join('\n')).not.toContain(PASSWORD);
    }
  });

  it('PostgreSQL: psql and pg_restore get the password as PGPASSWORD, never as an argument', async () => {
    const dir = path.join(tools, 'pg');
    const log = path.join(dir, 'starts.log');
    for (const tool of ['psql', 'pg_restore']) await environmentRecordingTool(dir, tool, log);
    const name = into('pg');
    const { code, stderr } = await runCli(
      ['restore', '--target', 'main', '--into', `postgres://postgres@127.0.0.1:${PG.port}/${name}`],
      {
        cwd: pg.dir,
        env: { ...process.env, STEPVAULT_TOOLS_DIR: dir, STEPVAULT_RESTORE_PASSWORD: PASSWORD },
      },
    );
    expect(code, stderr).toBe(0);
    expect(await psql(name, 'SELECT count(*) FROM t')).toBe('3');
    const starts = recordedStarts(await readFile(log, 'utf8'));
    expect(starts.map((s) => s.tool)).toEqual(expect.arrayContaining(['psql', 'pg_restore']));
    expect(starts.some((s) => s.tool === 'pg_restore' && s.args === '--version')).toBe(true);
    for (const start of starts) {
      expect(start.args).not.toContain(PASSWORD);
      // The version probe connects to nothing, so it is the one start that gets no password at all.
      if (start.args === '--version') expect(start.env).not.toHaveProperty('PGPASSWORD');
      else expect(start.env.PGPASSWORD).toBe(PASSWORD);
      expect(start.env).not.toHaveProperty('STEPVAULT_RESTORE_PASSWORD');
    }
  });

  it('MariaDB: at a terminal, asks for the password without echoing it', async () => {
    const name = into('maria');
    const { code, screen } = await atTerminal(
      ['restore', '--target', 'main', '--into', `mariadb://${user}@127.0.0.1:${MARIADB.port}/${name}`],
      `${PASSWORD}\r`,
    );
    expect(screen).toContain(`Password for ${user}@127.0.0.1:${MARIADB.port} (Enter for none): `);
    expect(code, screen).toBe(0);
    expect(screen).toContain(`restored into 127.0.0.1:${MARIADB.port}/${name}`);
    expect(screen).not.toContain(PASSWORD);
    expect(await mariadb(name, 'SELECT COUNT(*) FROM t')).toBe('3');
  });

  it('Ctrl-C at the prompt restores nothing and says so', async () => {
    const name = into('maria');
    const { code, screen } = await atTerminal(
      ['restore', '--target', 'main', '--into', `mariadb://${user}@127.0.0.1:${MARIADB.port}/${name}`],
      'half\x03',
    );
    expect(code).toBe(2);
    expect(screen).toContain('stepvault: interrupted at the password prompt; nothing was restored');
    expect(screen).not.toContain('half');
    expect(
      await mariadb(undefined, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`),
    ).toBe('0');
  });
});

/** Runs stepvault at a real terminal (`script` provides one) and types `keys` once the password prompt shows. */
async function atTerminal(args: string[], keys: string): Promise<{ code: number | null; screen: string }> {
  const env = { ...process.env };
  delete env.STEPVAULT_RESTORE_PASSWORD;
  const command = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: maria.dir,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let typed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    if (!typed && screen.includes('(Enter for none): ')) {
      typed = true;
      child.stdin.write(keys);
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, screen };
}
