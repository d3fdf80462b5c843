/**
 * `stepvault run` records each run for the status page: a real backup of a small PostgreSQL
 * database, then a run of the same target after its database is gone. The report shows the
 * stored backup as the last success and the failed run as the last failure, with its cause.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';

const database = uniqueName('sv_status_journal');
let dir: string | undefined;

afterAll(async () => {
  await dropDatabase(database).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('shows a run that failed after a stored backup as failed, with the cause the run printed', async () => {
  await createDatabase(database);
  await psql(database, 'CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g');
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-status-journal-'));
  const configFile = path.join(dir, 'stepvault.config.yml');
  await writeFile(
    configFile,
    stringify({
      destinations: { local: { type: 'filesystem', path: './backups' } },
      notifications: { desk: { type: 'outbox', path: './outbox' } },
      defaults: { notify: ['desk'], destinations: ['local'] },
      targets: { main: { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database } },
    }),
  );
  const ok = await runCli(['run', '--config', configFile, '--retry-delay-ms', '0'], { cwd: dir });
  expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  await dropDatabase(database);
  const failed = await runCli(['run', '--config', configFile, '--retry-delay-ms', '0'], { cwd: dir });
  expect(failed.code, failed.stdout).toBe(1);

  const journal = (await readFile(path.join(dir, '.stepvault', 'runs.jsonl'), 'utf8')).trim().split('\n');
  expect(journal.map((line) => (JSON.parse(line) as { status: string }).status)).toEqual(['SUCCEEDED', 'FAILED']);

  const out = path.join(dir, 'status.html');
  const report = await runCli(['report', '--config', configFile, '--out', out], { cwd: dir });
  expect(report.stdout).toBe(`wrote ${out}: 1 targets, overall failed\n`);
  const page = await readFile(out, 'utf8');
  expect(page).toContain('data-target="main" data-state="failed"');
  expect(page).toContain(`database &quot;${database}&quot; does not exist`);
  expect(page).toMatch(
    /<td data-label="Last success"><time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z"[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time><br><span class="muted">([\d.]+s|\d+m) ago/,
  );
});
