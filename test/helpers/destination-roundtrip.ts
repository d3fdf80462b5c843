/**
 * The round trip every destination provider must make through the real workflow: four daily
 * backups of a PostgreSQL database into the destination under `retention: { keepLast: 2 }`,
 * then `stepvault list`, `stepvault restore` of the latest into a fresh database compared table
 * by table, and the two oldest backups and their manifests gone from the destination.
 */
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { SecretResolver } from '../../src/config/secrets.ts';
import { storageFor } from '../../src/storage/registry.ts';
import { runCli } from './cli.ts';
import { createDatabase, dropDatabase, PG, psql, tableDigests, uniqueName } from './postgres.ts';
import { configFor, storedBackup, type Workspace } from './workspace.ts';

export interface RoundTrip {
  /** The keys of the backups kept, oldest first, with their manifests. */
  kept: string[];
  deleted: string[];
}

/**
 * Runs the round trip in `workspace` with `destination` as the target's only destination, named
 * `remote`. `env` goes to the command line (the secrets the destination's references name).
 */
export async function destinationRoundTrip(
  workspace: Workspace,
  destination: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RoundTrip> {
  const source = uniqueName('sv_rt_src');
  const into = uniqueName('sv_rt_into');
  await createDatabase(source);
  try {
    await psql(
      source,
      `CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 20000) g;
       CREATE TABLE customers (id int PRIMARY KEY, name text); INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace');`,
    );
    await workspace.writeConfig(
      configFor(
        {
          engine: 'postgres',
          host: PG.host,
          port: PG.port,
          user: PG.user,
          database: source,
          retention: { keepLast: 2 },
        },
        {
          destinations: { remote: destination },
          defaults: { staging: './staging', destinations: ['remote'], notify: ['desk'] },
        },
      ),
    );
    const records = [];
    for (const day of ['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']) {
      if (day === '2026-11-21') await psql(source, `INSERT INTO customers VALUES (3, 'Edsger')`);
      const record = await workspace.run('main', { now: () => new Date(`${day}T03:00:00Z`) });
      expect(record.status, record.cause).toBe('SUCCEEDED');
      records.push(record);
    }
    const keys = records.map((r) => storedBackup(r).key);
    expect(records[3]!.state.prune).toEqual({ destinations: [{ destination: 'remote', kept: 2, deleted: [keys[1]] }] });
    expect(records[2]!.state.prune).toEqual({ destinations: [{ destination: 'remote', kept: 2, deleted: [keys[0]] }] });

    const listed = await runCli(['list', '--target', 'main', '--json'], { cwd: workspace.dir, env });
    expect(listed.code, listed.stderr).toBe(0);
    const rows = JSON.parse(listed.stdout) as { key: string; sha256: string }[];
    expect(rows.map((r) => r.key)).toEqual([keys[3], keys[2]]);
    expect(rows[0]!.sha256).toBe(storedBackup(records[3]!).sha256);

    const restored = await runCli(
      ['restore', '--target', 'main', '--into', `postgres://postgres@127.0.0.1:${PG.port}/${into}`],
      { cwd: workspace.dir, env },
    );
    expect(restored.code, restored.stderr + restored.stdout).toBe(0);
    expect(restored.stdout).toMatch(/checksum [0-9a-f]{64} matches the manifest/);
    expect(await tableDigests(into)).toEqual(await tableDigests(source));

    // What is left in the destination, read through its own provider.
    const storage = await storageFor(loadConfig(workspace.configFile), 'remote', new SecretResolver());
    const stored: string[] = [];
    const prefix = typeof destination.prefix === 'string' ? `${destination.prefix}/` : '';
    for await (const object of storage.list(prefix)) stored.push(object.key);
    const kept = [keys[2]!, `${keys[2]}.manifest.json`, keys[3]!, `${keys[3]}.manifest.json`];
    expect(stored.sort()).toEqual(kept.sort());
    return { kept, deleted: [keys[0]!, keys[1]!] };
  } finally {
    await dropDatabase(source);
    await dropDatabase(into).catch(() => undefined);
  }
}
