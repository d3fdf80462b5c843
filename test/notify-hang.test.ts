/**
 * An SES endpoint that accepts and never answers, through `stepvault run` as a person runs it:
 * the run ends in bounded time, the good backup's BackupSucceeded metric is still emitted, the
 * process exits with the code the README gives (0: a notification never fails a good backup),
 * and the output says the notification failed.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { startSilentServer, type SilentServer } from './helpers/silent-server.ts';
import { configFor, createWorkspace, type Workspace } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_hang');
let workspace: Workspace;
let silent: SilentServer;

beforeAll(async () => {
  silent = await startSilentServer();
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g`);
  workspace = await createWorkspace();
  await workspace.writeConfig(
    configFor(
      { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database },
      {
        notifications: { ops: { type: 'ses', from: 'backups@example.test', to: ['ops@example.test'] } },
        defaults: { staging: './staging', destinations: ['local'], notify: ['ops'] },
      },
    ),
  );
});

afterAll(async () => {
  await silent?.close();
  await dropDatabase(database);
  await workspace?.remove();
});

/** The CLI in its own process, killed if it has not exited after `limitMs`. */
function stepvault(
  args: string[],
  env: NodeJS.ProcessEnv,
  limitMs: number,
): Promise<{ code: number | string | null; stdout: string; stderr: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: workspace.dir, env, timeout: limitMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error
          ? (error as { killed?: boolean }).killed
            ? 'killed'
            : ((error as { code?: number }).code ?? null)
          : 0;
        resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
      },
    );
  });
}

describe('an SES endpoint that never answers', () => {
  it('costs neither the BackupSucceeded metric nor the process exit; the output says the mail failed', async () => {
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL_SESV2: silent.url,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const result = await stepvault(
      ['run', '--config', 'stepvault.config.yml', '--target', 'main', '--verbose'],
      env,
      90_000,
    );
    expect(silent.connections()).toBeGreaterThan(0);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    // Two attempts of 8 s each, and the rest of the run: well inside NotifySuccess's 60 s.
    expect(result.seconds).toBeLessThan(40);
    expect(result.stdout).toMatch(/Backup of main succeeded/);
    expect(result.stdout).toMatch(
      /notification ops FAILED: TransientError: SES notification ops could not be sent: TimeoutError: a request has exceeded the configured 8000 ms requestTimeout\.\n/,
    );
    const documents = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents.find((d) => 'BackupSucceeded' in d)).toMatchObject({ BackupSucceeded: 1, target: 'main' });
    expect(documents.find((d) => 'NotificationFailed' in d)).toMatchObject({ NotificationFailed: 1, target: 'main' });
  }, 120_000);
});
