/** `stepvault run` as a person uses it: what it prints and what it exits with. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { runCli } from './helpers/cli.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_cli');
let workspace: Workspace;

const stepvault = (args: string[], cwd: string) => runCli(args, { cwd });

beforeAll(async () => {
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g`);
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor(
      { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
      {
        targets: {
          main: { engine: 'postgres', host: PG.host, user: PG.user, database },
          down: { engine: 'postgres', host: PG.host, port: 1, database },
        },
      },
    ),
  );
});

afterAll(async () => {
  await dropDatabase(database);
  await workspace?.remove();
});

describe('stepvault run', () => {
  it('exits 0 and prints each state with its duration and where the backup went', async () => {
    const { code, stdout } = await stepvault(
      ['run', '--config', 'stepvault.config.yml', '--target', 'main'],
      workspace.dir,
    );
    expect(code).toBe(0);
    for (const state of ['Plan', 'Dump', 'Upload', 'NotifySuccess', 'Cleanup']) {
      expect(stdout).toContain(`→ ${state}\n`);
      expect(stdout).toMatch(new RegExp(`✓ ${state}\\s+\\d+\\.\\d+s`));
    }
    expect(stdout).toContain(
      '  runner efs: host 127.0.0.1 is a private address, reached only from inside its network\n',
    );
    expect(stdout).toMatch(/Backup of main succeeded: [\d.]+ KB, sha256 [0-9a-f]{64}/);
    expect(stdout).toContain(path.join(workspace.dir, 'backups', 'db', 'main'));
  });

  it('exits 1 through the failure branch, with the failed state, error and cause', async () => {
    const { code, stdout } = await stepvault(
      ['run', '--config', workspace.configFile, '--target', 'down', '--retry-delay-ms', '0'],
      workspace.dir,
    );
    expect(code).toBe(1);
    expect(stdout).toContain('↻ Dump: retry 3');
    expect(stdout).toContain('→ NotifyFailure');
    expect(stdout).toContain('→ CleanupAfterFailure');
    expect(stdout).toMatch(
      /Backup of down FAILED in Dump: ConnectionError: cannot reach PostgreSQL for target down .*Connection refused/,
    );
  });

  it('exits 2 with the config problem and starts nothing when the config is invalid', async () => {
    const bad = await createWorkspace();
    await bad.writeConfig('targets:\n  main:\n    engine: oracle\n    host: x\n    database: y\n');
    const { code, stdout, stderr } = await stepvault(['run', '--target', 'main'], bad.dir);
    expect(code).toBe(2);
    expect(stderr).toBe(
      'stepvault: stepvault.config.yml has a problem:\n  targets.main.engine: "oracle" (a string) is not allowed; use one of "postgres", "mysql", "mariadb", "mssql"\n',
    );
    expect(stdout).toBe('');
    await bad.writeConfig('targets:\n  main:\n    engine: postgres\n    host: x\n    database: y\n');
    const missing = await stepvault(['run'], bad.dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'targets.main.destinations: is missing: say where backups go, here or under defaults.destinations',
    );
    await bad.remove();
  });

  it('asks for a target when the config has several, and explains bad options', async () => {
    expect(await stepvault(['run', '--config', workspace.configFile], workspace.dir)).toMatchObject({
      code: 2,
      stderr: 'stepvault: name a target with --target (this config has main, down)\n',
    });
    expect(
      (
        await stepvault(
          ['run', '--config', workspace.configFile, '--target', 'main', '--retry-delay-ms', 'soon'],
          workspace.dir,
        )
      ).stderr,
    ).toBe('stepvault: --retry-delay-ms takes a whole number of milliseconds, e.g. --retry-delay-ms 1000\n');
    const unknown = await stepvault(['run', '--bogus'], workspace.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'stepvault: run: unknown option "--bogus"; the options of run are --config, --target, --retry-delay-ms, --verbose, --help\n',
    );
    const typo = await stepvault(['run', '--taget', 'main'], workspace.dir);
    expect(typo).toMatchObject({
      code: 2,
      stderr: 'stepvault: run: unknown option "--taget"; did you mean "--target"?\n',
    });
    const command = await stepvault(['frobnicate'], workspace.dir);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('stepvault: unknown command "frobnicate"');
  });

  it('stops before the workflow, with exit 2, no mail and nothing staged or stored, for an unknown target or an unset secret', async () => {
    const dir = await createWorkspace();
    await dir.writeConfig(
      configFor({
        engine: 'postgres',
        host: PG.host,
        user: PG.user,
        database,
        password: 'env:STEPVAULT_TEST_UNSET_PASSWORD',
      }),
    );
    const unset = await stepvault(['run', '--target', 'main'], dir.dir);
    expect(unset).toMatchObject({
      code: 2,
      stdout: '',
      stderr:
        'stepvault: targets.main.password: environment variable STEPVAULT_TEST_UNSET_PASSWORD is not set; export it before the run (env:STEPVAULT_TEST_UNSET_PASSWORD)\n',
    });
    const unknown = await stepvault(['run', '--target', 'mian'], dir.dir);
    expect(unknown).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'stepvault: unknown target "mian" in stepvault.config.yml; known targets: main (did you mean "main"?)\n',
    });
    expect(await readdir(dir.dir)).toEqual(['stepvault.config.yml']);
    await dir.remove();
  });

  it('says no config was found instead of checking --target against the embedded sample', async () => {
    const empty = await createWorkspace();
    const result = await stepvault(['run', '--target', 'orders'], empty.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `stepvault: no config found: there is no stepvault.config.yml in ${empty.dir} and no --config was given; write one (stepvault.config.example.yml shows every key) or pass --config FILE\n`,
    );
    expect(await readdir(empty.dir)).toEqual([]);
    await empty.remove();
  });
});
