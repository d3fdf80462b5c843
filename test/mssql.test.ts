/**
 * SQL Server through the real workflow: the real mssql client talks TDS over TCP to a small
 * SQL Server stand-in (test/helpers/tds-server.ts) that records each batch and, for BACKUP,
 * writes the .bak into the folder that plays the share.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { describeProgress } from '../src/observability/progress.ts';
import { runCli } from './helpers/cli.ts';
import { s3Destination, startS3Server } from './helpers/s3-server.ts';
import { startTdsServer, type Reply, type TdsServer } from './helpers/tds-server.ts';
import { configFor, createWorkspace, storedBackup, type Workspace } from './helpers/workspace.ts';

const SHARE = '\\\\fileserver\\stepvault';
const servers: TdsServer[] = [];
const workspaces: Workspace[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(workspaces.splice(0).map((w) => w.remove()));
});

/** Plays SQL Server: BACKUP writes the file where the share maps to, with STATS messages. */
function sqlServer(
  workspace: Workspace,
  options: { backupError?: boolean; statsPauseMs?: number } = {},
): (sql: string) => Promise<Reply[]> {
  return async (sql) => {
    if (sql.startsWith('SELECT CAST(SERVERPROPERTY'))
      return [{ kind: 'rows', columns: [{ name: 'version', type: 'nvarchar' }], rows: [['16.0.4135.4']] }];
    const disk = /^BACKUP DATABASE .* TO DISK = N'((?:[^']|'')*)'/.exec(sql)?.[1]?.replace(/''/g, "'");
    if (disk) {
      if (options.backupError) {
        return [
          {
            kind: 'error',
            number: 3201,
            message: `Cannot open backup device '${disk}'. Operating system error 5(Access is denied.).`,
          },
          { kind: 'error', number: 3013, message: 'BACKUP DATABASE is terminating abnormally.' },
        ];
      }
      const local = path.join(workspace.dir, 'staging', ...disk.slice(SHARE.length + 1).split('\\'));
      await mkdir(path.dirname(local), { recursive: true });
      await writeFile(local, randomBytes(3 * 1024 * 1024));
      const stats = (p: number): Reply => ({ kind: 'info', number: 3211, message: `${p} percent processed.` });
      // A long BACKUP: a while at 40 percent, long enough for heartbeats.
      const progress: Reply[] = options.statsPauseMs
        ? [stats(5), stats(40), { kind: 'pause', ms: options.statsPauseMs }, stats(100)]
        : [5, 50, 100].map(stats);
      return [
        ...progress,
        {
          kind: 'info',
          number: 3014,
          message: 'BACKUP DATABASE successfully processed 385 pages in 0.041 seconds (73.285 MB/sec).',
        },
      ];
    }
    if (sql.startsWith('RESTORE VERIFYONLY'))
      return [{ kind: 'info', number: 3262, message: 'The backup set on file 1 is valid.' }];
    return [];
  };
}

async function setup(
  database: string,
  serverOptions: { failLogin?: boolean; backupError?: boolean; statsPauseMs?: number } = {},
  extra: Record<string, unknown> = {},
) {
  const workspace = await createWorkspace();
  workspaces.push(workspace);
  const server = await startTdsServer({
    ...(serverOptions.failLogin && { failLogin: true }),
    onBatch: sqlServer(workspace, serverOptions),
  });
  servers.push(server);
  process.env.STEPVAULT_TEST_MSSQL_PASSWORD = 'Mssql-t3st-pw';
  await workspace.writeConfig(
    configFor({
      engine: 'mssql',
      host: '127.0.0.1',
      port: server.port,
      database,
      user: 'backup',
      password: 'env:STEPVAULT_TEST_MSSQL_PASSWORD',
      tls: { mode: 'disable' },
      mssql: { sharePath: SHARE, verifyOnly: true },
      ...extra,
    }),
  );
  return { workspace, server };
}

describe('SQL Server (mssql)', () => {
  it('backs up with the exact T-SQL, reports progress, and stores the .bak with its manifest', async () => {
    const database = "ord]ers 'Zürich'";
    const { workspace, server } = await setup(database);
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const plan = record.state.plan!;
    const backup = server.batches.find((b) => b.startsWith('BACKUP'));
    expect(backup).toBe(
      `BACKUP DATABASE [ord]]ers 'Zürich'] TO DISK = N'${SHARE}\\${plan.runId}\\${plan.fileName.replace(/'/g, "''")}' WITH COPY_ONLY, COMPRESSION, CHECKSUM, STATS = 5, INIT, FORMAT`,
    );
    expect(server.batches.find((b) => b.startsWith('RESTORE VERIFYONLY'))).toBe(
      `RESTORE VERIFYONLY FROM DISK = N'${SHARE}\\${plan.runId}\\${plan.fileName}' WITH CHECKSUM`,
    );
    // SQL Server's STATS arrive as percents, and as nothing else: no byte count is made up.
    const dumpProgress = record.progress.filter((p) => p.state === 'Dump');
    expect(dumpProgress).toEqual([5, 50, 100].map((percent) => ({ state: 'Dump', percent })));
    expect(dumpProgress.map((p) => describeProgress(p, 1))).toEqual(['5% done', '50% done', '100% done']);
    const stored = storedBackup(record);
    expect(stored.key).toMatch(/^db\/main\/\d{8}\/main-\d{8}T\d{6}Z-[0-9a-f]{8}\.bak$/);
    const bytes = await readFile(path.join(workspace.dir, 'backups', stored.key));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(stored.sha256);
    const manifest = JSON.parse(await readFile(path.join(workspace.dir, 'backups', stored.manifestKey), 'utf8'));
    expect(manifest).toMatchObject({
      engine: 'mssql',
      database,
      server: { version: '16.0.4135.4' },
      size: 3 * 1024 * 1024,
      compression: 'mssql-compressed',
    });
    expect(await workspace.stagingEntries()).toEqual([]);
    expect(JSON.stringify(server.batches) + record.logs.join('')).not.toContain('Mssql-t3st-pw');
  });

  it("shows a long BACKUP's percent in the heartbeat and the --verbose JSON progress line, with no bytes made up", async () => {
    const { workspace } = await setup('orders', { statsPauseMs: 1500 });
    const env = { ...process.env, STEPVAULT_HEARTBEAT_SECONDS: '0.3' };
    const result = await runCli(['run', '--config', workspace.configFile, '--target', 'main', '--verbose'], {
      cwd: workspace.dir,
      env,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ {2}Dump: 40% done \(running [\d.]+s\)$/m);
    const progress = result.stderr
      .split('\n')
      .filter((line) => line.includes('"message":"progress"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.state === 'Dump');
    expect(progress).toContainEqual(expect.objectContaining({ state: 'Dump', percent: 40 }));
    for (const line of progress.filter((l) => l.percent !== undefined)) {
      expect(line).not.toHaveProperty('bytes');
    }
  });

  it('a failed login is not retried and takes the failure branch', async () => {
    const { workspace } = await setup('orders', { failLogin: true });
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Dump', error: 'ConfigError' });
    expect(record.events.some((e) => e.type === 'state-retried')).toBe(false);
    const [mail] = await workspace.outbox();
    expect(mail!.body).toContain("Login failed for user 'backup'");
  });

  it('an unreachable server is retried, then mailed like the other engines', async () => {
    const { workspace } = await setup('orders', {}, { port: 1 });
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Dump', error: 'ConnectionError' });
    expect(record.events.filter((e) => e.type === 'state-retried' && e.state === 'Dump')).toHaveLength(3);
    const [mail] = await workspace.outbox();
    expect(mail!.headers.subject).toBe('[stepvault] main: backup FAILED in Dump (ConnectionError)');
    expect(mail!.body).toContain('cannot reach SQL Server for target main (127.0.0.1:1/orders)');
    expect(await workspace.stagingEntries()).toEqual([]);
  });

  it('a BACKUP error is a DumpError carrying the server’s message', async () => {
    const { workspace } = await setup('orders', { backupError: true });
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'Dump', error: 'DumpError' });
    const [mail] = await workspace.outbox();
    expect(mail!.body).toContain('Operating system error 5(Access is denied.)');
  });
});

describe('RDS for SQL Server (mssql rds mode)', () => {
  /**
   * Plays RDS: the task runs for one look, then writes the backup to S3 and reports SUCCESS (or ERROR); or it runs for
   * ever (RUNNING).
   */
  function rds(
    bucket: { put(key: string, body: Buffer): Promise<void> },
    outcome: 'SUCCESS' | 'ERROR' | 'RUNNING',
  ): (sql: string) => Promise<Reply[]> {
    let looks = 0;
    let key = '';
    return async (sql) => {
      if (sql.startsWith('SELECT CAST(SERVERPROPERTY'))
        return [{ kind: 'rows', columns: [{ name: 'version', type: 'nvarchar' }], rows: [['15.0.4345.5']] }];
      const arn = /@s3_arn_to_backup_to = N'arn:aws:s3:::([^/]+)\/([^']+)'/.exec(sql);
      if (arn) {
        key = arn[2]!;
        return [
          {
            kind: 'rows',
            columns: [
              { name: 'task_id', type: 'int' },
              { name: 'lifecycle', type: 'nvarchar' },
            ],
            rows: [[7, 'CREATED']],
          },
        ];
      }
      if (sql.startsWith('EXEC msdb.dbo.rds_task_status @task_id = 7')) {
        looks++;
        const done = outcome !== 'RUNNING' && looks >= 2;
        if (done && outcome === 'SUCCESS') await bucket.put(key, Buffer.alloc(2 * 1024 * 1024, 7));
        const lifecycle = done ? outcome : 'IN_PROGRESS';
        const info =
          done && outcome === 'ERROR' ? 'Aborted the task because of a task failure: Access Denied to S3 bucket.' : '';
        return [
          {
            kind: 'rows',
            columns: [
              { name: 'task_id', type: 'int' },
              { name: 'lifecycle', type: 'nvarchar' },
              { name: '% complete', type: 'int' },
              { name: 'task_info', type: 'nvarchar' },
            ],
            rows: [[7, lifecycle, done ? 100 : 40, info]],
          },
        ];
      }
      return [];
    };
  }

  async function rdsSetup(outcome: 'SUCCESS' | 'ERROR' | 'RUNNING') {
    const s3 = await startS3Server(['rds-backups']);
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    const put = async (key: string, body: Buffer) =>
      void (await s3.client.send(new PutObjectCommand({ Bucket: 'rds-backups', Key: key, Body: body })));
    const server = await startTdsServer({ onBatch: rds({ put }, outcome) });
    servers.push(server, { port: 0, batches: [], close: () => s3.stop() });
    process.env.STEPVAULT_TEST_MSSQL_PASSWORD = 'Mssql-t3st-pw';
    await workspace.writeConfig(
      configFor(
        {
          engine: 'mssql',
          host: '127.0.0.1',
          port: server.port,
          database: 'ERP',
          user: 'admin',
          password: 'env:STEPVAULT_TEST_MSSQL_PASSWORD',
          tls: { mode: 'disable' },
          mssql: { mode: 'rds' },
          destinations: ['rds'],
        },
        {
          destinations: { rds: s3Destination(s3, 'rds-backups', { prefix: 'sql' }) },
          defaults: { staging: './staging', destinations: ['rds'], notify: ['desk'] },
        },
      ),
    );
    return { workspace, server, s3 };
  }

  it('starts rds_backup_database to the S3 destination, polls the task through the state machine, and describes the object RDS wrote', async () => {
    const { workspace, server, s3 } = await rdsSetup('SUCCESS');
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const key = record.state.plan!.objectKey;
    expect(server.batches.find((b) => b.startsWith('EXEC msdb.dbo.rds_backup_database'))).toBe(
      `EXEC msdb.dbo.rds_backup_database @source_db_name = N'ERP', @s3_arn_to_backup_to = N'arn:aws:s3:::rds-backups/sql/${key}', @type = N'FULL', @overwrite_s3_backup_file = 0`,
    );
    const entered = record.events
      .filter((e) => e.type === 'state-entered' && e.index === undefined)
      .map((e) => e.state);
    expect(entered.slice(0, 11)).toEqual([
      'IsDoctor',
      'Plan',
      'ChooseRunner',
      'Dump',
      'IsRdsBackup',
      'WaitForRdsBackup',
      'CheckRdsBackup',
      'IsRdsBackupDone',
      'WaitForRdsBackup',
      'CheckRdsBackup',
      'IsRdsBackupDone',
    ]);
    expect(entered).toContain('Verify');
    const stored = storedBackup(record);
    expect(stored.key).toBe(`sql/${key}`);
    const manifest = JSON.parse(
      (
        await buffer(
          (
            await s3.client.send(new GetObjectCommand({ Bucket: 'rds-backups', Key: stored.manifestKey }))
          ).Body as NodeJS.ReadableStream,
        )
      ).toString(),
    );
    expect(manifest).toMatchObject({
      engine: 'mssql',
      size: 2 * 1024 * 1024,
      sha256: createHash('sha256')
        .update(Buffer.alloc(2 * 1024 * 1024, 7))
        .digest('hex'),
      tool: { name: 'rds_backup_database' },
    });
    expect(record.state.verify?.destinations).toEqual([{ destination: 'rds', checked: 'manifest' }]);
  });

  it('a task that ends in ERROR fails the run in CheckRdsBackup with RDS’s own words', async () => {
    const { workspace } = await rdsSetup('ERROR');
    const record = await workspace.run('main');
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'CheckRdsBackup', error: 'DumpError' });
    const [mail] = await workspace.outbox();
    expect(mail!.body).toContain(
      'RDS backup task 7 of main ended ERROR: Aborted the task because of a task failure: Access Denied to S3 bucket.',
    );
  });

  it('a task still running after mssql.timeoutMinutes fails the run by the clock, however few looks that took', async () => {
    const { workspace, server } = await rdsSetup('RUNNING');
    // Each look at the clock is an hour later: slow looks, as when SQL Server answers slowly.
    let clock = Date.parse('2026-12-04T03:00:00Z');
    const record = await workspace.run('main', {
      now: () => {
        clock += 3_600_000;
        return new Date(clock);
      },
    });
    expect(record).toMatchObject({ status: 'FAILED', failedState: 'CheckRdsBackup', error: 'DumpError' });
    expect(record.cause).toContain('is still IN_PROGRESS (40%) after 240 minutes; raise mssql.timeoutMinutes');
    // Counting looks alone would have taken 480 of them (240 minutes / 30 s).
    expect(server.batches.filter((b) => b.startsWith('EXEC msdb.dbo.rds_task_status')).length).toBeLessThan(10);
  });

  it('refuses rds mode without exactly one S3 destination, at Plan time', async () => {
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    await workspace.writeConfig(configFor({ engine: 'mssql', host: 'h', database: 'ERP', mssql: { mode: 'rds' } }));
    expect(() => loadConfig(workspace.configFile)).toThrow(
      'targets.main.destinations: must be exactly one s3 destination in mssql rds mode, where the server writes the backup itself (now: local)',
    );
  });
});

/**
 * The same backup against a real SQL Server, when MSSQL_URL names one (not on this machine: no
 * Docker engine). With the docker-compose service:
 *   docker compose up -d sqlserver
 *   MSSQL_URL='mssql://sa:Stepvault-2026!@127.0.0.1:1433' npx vitest run test/mssql.test.ts
 * The server writes into its /var/opt/mssql/backup, which compose maps to ./.stepvault/mssql-share
 * (MSSQL_SHARE_PATH and MSSQL_SHARE_LOCAL say otherwise).
 */
describe.runIf(process.env.MSSQL_URL)('a real SQL Server (MSSQL_URL)', () => {
  it('backs up a database onto the share and stores the .bak', async () => {
    const url = new URL(process.env.MSSQL_URL!);
    const { default: mssql } = await import('mssql');
    const database = `stepvault_${Date.now().toString(36)}`;
    const pool = await new mssql.ConnectionPool({
      server: url.hostname,
      port: Number(url.port || 1433),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      options: { encrypt: false, trustServerCertificate: true },
    }).connect();
    await pool.request().batch(`CREATE DATABASE [${database}]`);
    await pool.request().batch(`USE [${database}]; CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2), (3);`);
    const workspace = await createWorkspace();
    workspaces.push(workspace);
    process.env.STEPVAULT_TEST_MSSQL_PASSWORD = decodeURIComponent(url.password);
    try {
      await workspace.writeConfig(
        configFor(
          {
            engine: 'mssql',
            host: url.hostname,
            port: Number(url.port || 1433),
            database,
            user: decodeURIComponent(url.username),
            password: 'env:STEPVAULT_TEST_MSSQL_PASSWORD',
            tls: { mode: 'require' },
            mssql: { sharePath: process.env.MSSQL_SHARE_PATH ?? '/var/opt/mssql/backup', verifyOnly: true },
          },
          {
            defaults: {
              staging: path.resolve(process.env.MSSQL_SHARE_LOCAL ?? '.stepvault/mssql-share'),
              destinations: ['local'],
              notify: ['desk'],
            },
          },
        ),
      );
      const record = await workspace.run('main');
      expect(record.status, record.cause).toBe('SUCCEEDED');
      expect(storedBackup(record).size).toBeGreaterThan(0);
    } finally {
      await pool.request().batch(`DROP DATABASE [${database}]`);
      await pool.close();
    }
  });
});
