/**
 * The status page against stored backups: a filesystem and an S3 destination holding manifests
 * written through the storage providers, the journal holding a failed run, and the page served by
 * `stepvault serve` read in headless Chromium. Healthy, late and failed targets; /health codes;
 * no secret in any response; escaping; the bad inputs a user can give.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MANIFEST_FORMAT, type Manifest } from '../src/backups/manifest.ts';
import { manifestKey, objectKey, withPrefix } from '../src/backups/naming.ts';
import { applyRetention } from '../src/backups/retention.ts';
import { loadConfig } from '../src/config/load.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { collectStatus } from '../src/status/collect.ts';
import { statusHandler } from '../src/status/routes.ts';
import { journalEntry, journalFile, recordRun } from '../src/status/run-journal.ts';
import { storageFor } from '../src/storage/registry.ts';
import { CLI, runCli } from './helpers/cli.ts';
import { s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';

const HOUR = 3_600_000;
const DB_PASSWORD = 'status-db-password-7311';
const URL_PASSWORD = 'url-pass-9431';
const now = new Date();
/** Healthy's six hourly backups, the newest 30 minutes old. */
const HEALTHY_TIMES = Array.from({ length: 6 }, (_, i) => new Date(now.getTime() - (5.5 - i) * HOUR));
let dir: string;
let s3: S3TestServer;
let serve: ChildProcess;
let base: string;
let browser: Browser;
const env = () => ({ ...process.env, STATUS_DB_PASSWORD: DB_PASSWORD });

function target(schedule: string, destinations: string[], database: string) {
  return {
    engine: 'postgres',
    host: '127.0.0.1',
    database,
    user: 'backup',
    password: 'env:STATUS_DB_PASSWORD',
    schedule: { cron: schedule, timezone: 'Europe/Lisbon' },
    destinations,
    retention: { keepLast: 3, daily: 7 },
  };
}

function configFor(targets: Record<string, unknown>) {
  return {
    destinations: {
      local: { type: 'filesystem', path: './backups' },
      bucket: s3Destination(s3, 'status', { prefix: 'db' }),
    },
    notifications: { desk: { type: 'outbox', path: './outbox' } },
    defaults: { notify: ['desk'] },
    targets,
  };
}

const TARGETS = {
  healthy: target('0 * * * ? *', ['local', 'bucket'], 'orders "main"'),
  late: target('0 3 * * ? *', ['local'], 'billing'),
  failed: target('0 * * * ? *', ['local'], 'crm'),
};

/** A manifest stored through the destination's own provider, as Upload stores it. */
async function storeBackup(config: ReturnType<typeof loadConfig>, name: string, at: Date, size: number) {
  const secrets = new SecretResolver();
  for (const destination of config.targets[name]!.destinations) {
    const storage = await storageFor(config, destination, secrets);
    const key = withPrefix(
      config.destinations[destination]!.prefix,
      objectKey(name, at, `exec${at.getTime()}`, '.dump'),
    );
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      runId: `${name}-${at.getTime()}`,
      executionId: `exec${at.getTime()}`,
      target: name,
      engine: 'postgres',
      database: config.targets[name]!.database!,
      createdAt: at.toISOString(),
      timezone: 'Europe/Lisbon',
      key,
      size,
      sha256: `${String(size).padStart(8, '0')}${'ab'.repeat(28)}`,
      compression: 'custom',
      tool: { name: 'pg_dump', version: '18.1' },
      server: { version: '15.10' },
      timings: {
        startedAt: at.toISOString(),
        dumpStartedAt: at.toISOString(),
        dumpFinishedAt: at.toISOString(),
        dumpSeconds: 1,
        storedAt: at.toISOString(),
      },
    };
    await storage.putText(key, 'dump', 'application/octet-stream');
    await storage.putText(manifestKey(key), JSON.stringify(manifest), 'application/json');
  }
}

function startServe(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0'], { env: env() });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const url = /Status page on (http:\/\/127\.0\.0\.1:\d+)\//.exec(seen)?.[1];
      if (url) resolve({ child, url });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
}

beforeAll(async () => {
  s3 = await startS3Server(['status']);
  dir = await mkdtemp(path.join(tmpdir(), 'stepvault-status-'));
  await writeFile(path.join(dir, 'stepvault.config.yml'), stringify(configFor(TARGETS)));
  const config = loadConfig(path.join(dir, 'stepvault.config.yml'));
  // Healthy: hourly, the newest 30 minutes old, six backups with a sudden drop at the end.
  const sizes = [1000, 1040, 1100, 1080, 1120, 300];
  for (const [i, size] of sizes.entries()) await storeBackup(config, 'healthy', HEALTHY_TIMES[i]!, size);
  // Late: daily, the newest three days old.
  await storeBackup(config, 'late', new Date(now.getTime() - 72 * HOUR), 5000);
  // Failed: a success two hours ago, then a run that failed an hour ago.
  await storeBackup(config, 'failed', new Date(now.getTime() - 2 * HOUR), 2000);
  await recordRun(
    journalFile(config.targets.failed!.staging),
    journalEntry(
      'failed',
      {
        status: 'FAILED',
        executionArn: 'arn:local',
        failedState: 'Dump',
        error: 'ConnectionError',
        cause: `could not reach postgres://backup:${URL_PASSWORD}@db.internal/crm <script>alert(1)</script>`,
      },
      new Date(now.getTime() - HOUR),
    ),
  );
  // Healthy's last run also ran the restore drill.
  await recordRun(
    journalFile(config.targets.healthy!.staging),
    journalEntry(
      'healthy',
      {
        status: 'SUCCEEDED',
        executionArn: 'arn:local',
        output: { verify: { drill: { database: 'scratch', tables: 2, rows: 100, seconds: 1.5 } } } as never,
      },
      new Date(now.getTime() - 0.5 * HOUR),
    ),
  );
  ({ child: serve, url: base } = await startServe(path.join(dir, 'stepvault.config.yml')));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  serve?.kill();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the status page in a browser', () => {
  it('shows each target state, one chart point per backup, no console error, and screenshots at two widths', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const response = await page.goto(`${base}/`);
    expect(response?.status()).toBe(200);
    const states = await page.$$eval('tr.target', (rows) =>
      rows.map((r) => [r.getAttribute('data-target'), r.getAttribute('data-state')]),
    );
    expect(states).toEqual([
      ['healthy', 'ok'],
      ['late', 'late'],
      ['failed', 'failed'],
    ]);
    expect(await page.locator('tr[data-target="healthy"] svg.sparkline circle').count()).toBe(6);
    expect(await page.locator('tr[data-target="late"] svg.sparkline circle').count()).toBe(1);
    expect(await page.locator('tr[data-target="healthy"]').textContent()).toContain('smaller than the previous backup');
    expect(await page.locator('tr[data-target="late"]').textContent()).toMatch(/no success for 3d 0h/);
    // The cause is text on the page, never markup.
    expect(await page.locator('tr[data-target="failed"]').textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('tr[data-target="healthy"]').textContent()).toContain('orders "main"');
    expect(await page.locator('tr[data-target="healthy"]').textContent()).toContain('Europe/Lisbon');
    expect(await page.locator('tr[data-target="healthy"] td[data-label="Last restore drill"]').textContent()).toMatch(
      /^passed: 2 tables, 100 rows in 1\.5s\d{4}-/,
    );
    expect(await page.locator('tr[data-target="late"] td[data-label="Last restore drill"]').textContent()).toBe(
      'none recorded',
    );

    const folder = process.env.STEPVAULT_UPDATE_SCREENSHOTS === '1' ? 'docs' : 'test-results';
    await mkdir(path.join(import.meta.dirname, '..', folder), { recursive: true });
    await page.screenshot({ path: path.join(import.meta.dirname, '..', folder, 'status-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.screenshot({ path: path.join(import.meta.dirname, '..', folder, 'status-phone.png'), fullPage: true });

    await page.click('a[href="targets/healthy"]');
    expect(await page.locator('tr.backup').count()).toBe(6);
    expect(await page.locator('tr.backup').first().textContent()).toContain('stepvault restore --config');
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('what the page reads', () => {
  it('lists the same backups as stepvault list, from the filesystem and the S3 destination', async () => {
    const page = await (await fetch(`${base}/targets/healthy`)).text();
    for (const from of ['local', 'bucket']) {
      const listed = await runCli(
        ['list', '--config', path.join(dir, 'stepvault.config.yml'), '--target', 'healthy', '--from', from, '--json'],
        { cwd: dir, env: env() },
      );
      expect(listed.code, listed.stderr).toBe(0);
      const rows = JSON.parse(listed.stdout) as { key: string; sha256: string }[];
      expect(rows).toHaveLength(6);
      for (const row of rows) {
        expect(page).toContain(row.key);
        expect(page).toContain(row.sha256);
      }
    }
    expect(page).toContain('--from bucket');
  });

  it('says per destination what retention keeps', async () => {
    const page = await (await fetch(`${base}/`)).text();
    // The three newest, and the newest of each day in the target's zone: 3, or 4 when the test runs
    // between 02:30 and 05:30 there and midnight falls among the three older backups (it once did).
    const kept = applyRetention(
      HEALTHY_TIMES.map((createdAt) => ({ createdAt })),
      { keepLast: 3, daily: 7 },
      'Europe/Lisbon',
      now,
    ).keep.length;
    expect([3, 4]).toContain(kept);
    expect(page).toContain(`<strong>local</strong> (filesystem): keepLast 3, daily 7 keeps ${kept} of 6`);
    expect(page).toContain(`<strong>bucket</strong> (s3): keepLast 3, daily 7 keeps ${kept} of 6`);
  });
});

describe('/health', () => {
  let server: Server;
  let url: string;
  let which: string[] = [];

  beforeAll(async () => {
    const config = loadConfig(path.join(dir, 'stepvault.config.yml'));
    const handler = statusHandler(() =>
      collectStatus(
        { ...config, targets: Object.fromEntries(which.map((n) => [n, config.targets[n]!])) },
        new SecretResolver(),
        now,
      ),
    );
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    [['healthy'], 200, 'ok'],
    [['healthy', 'late'], 503, 'late'],
    [['healthy', 'late', 'failed'], 503, 'failed'],
  ])('targets %j answer %i %s', async (targets, code, status) => {
    which = targets;
    const response = await fetch(url);
    expect(response.status).toBe(code);
    const body = (await response.json()) as { status: string; targets: Record<string, { status: string }> };
    expect(body.status).toBe(status);
    expect(Object.keys(body.targets)).toEqual(targets);
  });

  it('is served by stepvault serve, failed overall', async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { status: string }).status).toBe('failed');
  });
});

describe('no secret and no write', () => {
  it('never shows a password, in any page, the health answer or the report file', async () => {
    const out = path.join(dir, 'status.html');
    const report = await runCli(['report', '--config', path.join(dir, 'stepvault.config.yml'), '--out', out], {
      cwd: dir,
      env: env(),
    });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('3 targets, overall failed');
    const bodies = [
      await readFile(out, 'utf8'),
      ...(await Promise.all(
        ['/', '/targets/healthy', '/targets/failed', '/health'].map(async (p) => (await fetch(`${base}${p}`)).text()),
      )),
    ];
    for (const body of bodies) {
      expect(body).not.toContain(DB_PASSWORD);
      expect(body).not.toContain(URL_PASSWORD);
    }
    expect(bodies[1]).toContain('postgres://backup:***@db.internal/crm');
    // The report stands alone: no script, no link, no source to fetch.
    expect(bodies[0]).not.toMatch(/<script|<link|src=|url\(/i);
  });

  it('answers 405 to any method but GET and HEAD', async () => {
    for (const [method, p] of [
      ['POST', '/'],
      ['PUT', '/health'],
      ['DELETE', '/targets/healthy'],
    ] as const) {
      const response = await fetch(`${base}${p}`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      expect(await response.text()).toBe(`${method} is not allowed: the status page is read-only\n`);
    }
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('bad input', () => {
  it('an unknown target page is a 404 page that names it', async () => {
    const response = await fetch(`${base}/targets/nope%3Cb%3E`);
    expect(response.status).toBe(404);
    const body = await response.text();
    expect(body).toContain('There is no target named &quot;nope&lt;b&gt;&quot; in this config.');
    expect(body).toContain('href="/targets/healthy"');
  });

  it('report without --out says what to give', async () => {
    const result = await runCli(['report', '--config', path.join(dir, 'stepvault.config.yml')], {
      cwd: dir,
      env: env(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('stepvault: report: --out FILE is required, e.g. --out status.html\n');
  });

  it('report into a folder that does not exist says it cannot write there', async () => {
    const out = path.join(dir, 'missing', 'status.html');
    const result = await runCli(['report', '--config', path.join(dir, 'stepvault.config.yml'), '--out', out], {
      cwd: dir,
      env: env(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `stepvault: report: cannot write ${out} (ENOENT); give --out a path in a folder you can write to\n`,
    );
  });
});
