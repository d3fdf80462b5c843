/**
 * An `engine: mysql` target on a real MySQL 9 server, backed up through the workflow with the
 * layer's MySQL mysqldump, and the dump restored by MySQL's own mysql client (from the layer) and
 * by `stepvault restore`: awkward data (utf8mb4, blobs, NULLs), a view, a trigger, routines.
 * And the mariadb engine still dumps with mariadb-dump.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltLayer } from '../layers/dbtools/build.ts';
import { getTarget, loadConfig } from '../src/config/load.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { restore } from '../src/restore/restore.ts';
import { runCli } from './helpers/cli.ts';
import { layerCommand, layerFor } from './helpers/layer.ts';
import { createMariaDatabase, dropMariaDatabase, MARIADB } from './helpers/mariadb.ts';
import { startMysqlServer, type MysqlServer } from './helpers/mysql-server.ts';
import { uniqueName } from './helpers/postgres.ts';
import { configFor, createWorkspace, type RunRecord, storedBackup, type Workspace } from './helpers/workspace.ts';

const run = promisify(execFile);
const SOURCE = 'shop';
let layer: BuiltLayer;
let server: MysqlServer;
let workspace: Workspace;
let record: RunRecord;
let sql: string;

const RICH_SCHEMA = `
CREATE TABLE customers (
  id INT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(100) NOT NULL,
  note TEXT NULL,
  photo BLOB NULL,
  balance DECIMAL(12,2) NULL
) DEFAULT CHARSET=utf8mb4;
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT, at_name VARCHAR(100)) DEFAULT CHARSET=utf8mb4;
INSERT INTO customers (name, note, photo, balance) VALUES
  ('Zoë 🦊', 'emoji and accents: ção, 日本語, ‘quotes’', UNHEX('00FF10275C0A0D'), 12.50),
  ('O''Brien', NULL, NULL, NULL),
  ('tab\\tand\\nnewline', 'backslash \\\\ here', UNHEX(REPEAT('AB', 3000)), -0.01);
CREATE VIEW rich_customers AS SELECT id, name FROM customers WHERE balance > 0;
CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW INSERT INTO audit (customer_id, at_name) VALUES (NEW.id, NEW.name);
CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE PROCEDURE add_customer(IN n VARCHAR(100)) INSERT INTO customers (name) VALUES (n);
CALL add_customer('via procedure');
`;

/** Every table's rows (blobs as hex) and every object, as one comparable text. */
async function snapshot(database: string): Promise<string> {
  const rows = await server.sql(
    `SELECT id, name, note, HEX(photo), balance FROM customers ORDER BY id;
     SELECT id, customer_id, at_name FROM audit ORDER BY id;
     SELECT * FROM rich_customers ORDER BY id;
     SELECT double_it(21);`,
    database,
  );
  const objects = await server.sql(
    `SELECT CONCAT(ROUTINE_TYPE, ':', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${database}'
     UNION ALL SELECT CONCAT('TRIGGER:', TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${database}'
     UNION ALL SELECT CONCAT(TABLE_TYPE, ':', TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}'
     ORDER BY 1`,
  );
  return `${rows}\n${objects}`;
}

beforeAll(async () => {
  [layer, server] = await Promise.all([layerFor('x86_64'), startMysqlServer()]);
  await server.sql(`CREATE DATABASE ${SOURCE} DEFAULT CHARSET utf8mb4`);
  await server.sql(RICH_SCHEMA, SOURCE);
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor({ engine: 'mysql', host: '127.0.0.1', port: server.port, user: 'root', database: SOURCE }),
  );
  process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
  try {
    record = await workspace.run('main');
  } finally {
    delete process.env.STEPVAULT_TOOLS_DIR;
  }
  if (record.status === 'SUCCEEDED')
    sql = zstdDecompressSync(await readFile(path.join(workspace.dir, 'backups', storedBackup(record).key))).toString();
});

afterAll(async () => {
  delete process.env.STEPVAULT_TOOLS_DIR;
  await workspace?.remove();
  await server?.stop();
});

describe('an engine: mysql target on MySQL 9, dumped by MySQL’s own mysqldump', () => {
  it('dumps with the layer’s mysqldump 9, and the dump has no MariaDB sandbox line', async () => {
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(server.version).toMatch(/^9\./);
    expect(record.state.dump!.tool).toEqual({ name: 'mysqldump', version: expect.stringMatching(/^9\.\d+\.\d+/) });
    expect(record.state.dump!.serverVersion).toMatch(/^9\./);
    const head = sql.split('\n').slice(0, 10).join('\n');
    expect(head).toMatch(/^-- MySQL dump/);
    expect(head).not.toContain('enable the sandbox mode');
    expect(sql).not.toContain('/*M!');
    expect(sql).toContain('TRIGGER `customers_ai` AFTER INSERT ON `customers`');
  });

  it('restores with MySQL’s own mysql client (the layer’s) into a fresh database, contents identical', async () => {
    const copy = uniqueName('sv_mysql_client');
    await server.sql(`CREATE DATABASE ${copy}`);
    const [file, args] = layerCommand(layer, 'mysql', [
      '--no-defaults',
      '-h127.0.0.1',
      `-P${server.port}`,
      '-uroot',
      '--protocol=TCP',
      '--default-character-set=utf8mb4',
      copy,
    ]);
    const dump = path.join(workspace.dir, 'backups', storedBackup(record).key);
    await run('sh', ['-c', 'zstd -dc "$0" | "$@"', dump, file, ...args]);
    const restored = await snapshot(copy);
    expect(restored).toContain('Zoë 🦊');
    expect(restored).toEqual(await snapshot(SOURCE));
    await server.sql(`DROP DATABASE ${copy}`);
  });

  it('stepvault restore loads it with MySQL’s client into a new database, contents identical', async () => {
    const copy = uniqueName('sv_mysql_restore');
    const config = loadConfig(workspace.configFile);
    process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
    try {
      await restore({
        config,
        target: getTarget(config, 'main'),
        secrets: new SecretResolver(),
        backup: 'latest',
        into: `mysql://root@127.0.0.1:${server.port}/${copy}`,
      });
    } finally {
      delete process.env.STEPVAULT_TOOLS_DIR;
    }
    expect(await snapshot(copy)).toEqual(await snapshot(SOURCE));
    await server.sql(`DROP DATABASE ${copy}`);
  });

  it('says which database it cannot log in to when the password is wrong', async () => {
    const wrong = await createWorkspace();
    try {
      process.env.STEPVAULT_TEST_MYSQL_WRONG = 'not-the-password';
      await wrong.writeConfig(
        configFor({
          engine: 'mysql',
          host: '127.0.0.1',
          port: server.port,
          user: 'root',
          password: 'env:STEPVAULT_TEST_MYSQL_WRONG',
          database: SOURCE,
        }),
      );
      process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
      const failed = await wrong.run('main');
      expect(failed.status).toBe('FAILED');
      expect(failed.cause).toContain(`cannot log in to main (127.0.0.1:${server.port}/${SOURCE})`);
      expect(failed.cause).toContain('check user and password for targets.main');
    } finally {
      delete process.env.STEPVAULT_TOOLS_DIR;
      delete process.env.STEPVAULT_TEST_MYSQL_WRONG;
      await wrong.remove();
    }
  });
});

describe('an engine: mariadb target with the same layer', () => {
  it('still dumps with mariadb-dump, whose dump MariaDB’s client reads', async () => {
    const database = uniqueName('sv_layer_mariadb_tool');
    await createMariaDatabase(database);
    const maria = await createWorkspace();
    try {
      await maria.writeConfig(configFor({ engine: 'mariadb', host: MARIADB.host, user: MARIADB.user, database }));
      process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
      const done = await maria.run('main');
      expect(done.status, done.cause).toBe('SUCCEEDED');
      expect(done.state.dump!.tool).toEqual({ name: 'mariadb-dump', version: expect.stringMatching(/-MariaDB$/) });
      const text = zstdDecompressSync(await readFile(path.join(maria.dir, 'backups', storedBackup(done).key)));
      expect(text.toString().split('\n')[0]).toContain('enable the sandbox mode');
    } finally {
      delete process.env.STEPVAULT_TOOLS_DIR;
      await maria.remove();
      await dropMariaDatabase(database);
    }
  });
});

describe('a whole MySQL server (databases as a list)', () => {
  const second = 'crm';
  const user = 'sv_ws_reader';
  const prefix = 'copy_';

  it('stores every database and the users and grants; --all brings the dropped user, its grant and the databases back', async () => {
    await server.sql(
      `CREATE DATABASE ${second}; CREATE TABLE ${second}.contacts (id INT PRIMARY KEY, name VARCHAR(40)) DEFAULT CHARSET=utf8mb4;
       INSERT INTO ${second}.contacts VALUES (1, 'Ana'), (2, 'Bø');
       CREATE USER '${user}'@'%' IDENTIFIED BY 'sv-secret-pw'; GRANT SELECT ON ${second}.* TO '${user}'@'%';`,
    );
    const whole = await createWorkspace();
    const env = { ...process.env, STEPVAULT_TOOLS_DIR: layer.layerDir };
    try {
      await whole.writeConfig(
        configFor({ engine: 'mysql', host: '127.0.0.1', port: server.port, user: 'root', databases: [SOURCE, second] }),
      );
      process.env.STEPVAULT_TOOLS_DIR = layer.layerDir;
      let done: RunRecord;
      try {
        done = await whole.run('main');
      } finally {
        delete process.env.STEPVAULT_TOOLS_DIR;
      }
      expect(done.status, done.cause).toBe('SUCCEEDED');
      const stored = path.join(whole.dir, 'backups', storedBackup(done).key);
      const globals = (await run('tar', ['-xOf', stored, 'server/globals.sql'])).stdout;
      expect(globals).toContain(
        `CREATE USER IF NOT EXISTS \`${user}\`@\`%\` IDENTIFIED WITH 'caching_sha2_password' AS 0x`,
      );
      expect(globals).toContain(`GRANT SELECT ON \`${second}\`.* TO \`${user}\`@\`%\`;`);
      // The server's own accounts are not the user's to restore.
      expect(globals).not.toMatch(/mysql\.(sys|session|infoschema)/);
      expect(globals).toMatch(/-- Dump completed \(\d+ accounts\)/);

      await server.sql(`DROP USER '${user}'@'%'`);
      const restored = await runCli(
        ['restore', '--target', 'main', '--all', '--into', `mysql://root@127.0.0.1:${server.port}/${prefix}`],
        { cwd: whole.dir, env },
      );
      expect(restored.code, restored.stdout + restored.stderr).toBe(0);
      expect(await snapshot(`${prefix}${SOURCE}`)).toEqual(await snapshot(SOURCE));
      expect(await server.sql(`SELECT id, name FROM ${prefix}${second}.contacts ORDER BY id`)).toBe(
        await server.sql(`SELECT id, name FROM ${second}.contacts ORDER BY id`),
      );
      expect(await server.sql(`SHOW GRANTS FOR '${user}'@'%'`)).toContain(
        `GRANT SELECT ON \`${second}\`.* TO \`${user}\`@\`%\``,
      );
      // The restored user logs in with the password it had: the hash came back intact.
      const [file, args] = layerCommand(layer, 'mysql', [
        '--no-defaults',
        '-h127.0.0.1',
        `-P${server.port}`,
        `-u${user}`,
        '-psv-secret-pw',
        '--protocol=TCP',
        '-e',
        `SELECT COUNT(*) FROM ${second}.contacts`,
      ]);
      expect((await run(file, args)).stdout).toContain('2');
    } finally {
      await whole.remove();
    }
  });
});
