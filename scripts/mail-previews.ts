/**
 * Renders one success and one failure mail, as a run of the deployed machine would send them,
 * into docs/mail-success.html and docs/mail-failure.html, and with --screenshot takes phone-width
 * pictures of them with headless Chromium (docs/mail-*.png), the ones the README shows.
 *
 *   node scripts/mail-previews.ts [--screenshot] [--chromium /usr/bin/chromium]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionInfo, RunState } from '../src/contracts.ts';
import { failureMessage, successMessage } from '../src/notifiers/message.ts';

const { values } = parseArgs({
  options: {
    screenshot: { type: 'boolean', default: false },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const docs = path.resolve(import.meta.dirname, '../docs');
const executionArn =
  'arn:aws:states:eu-west-1:123456789012:execution:stepvault-prod-backup:orders-20261122T030000Z-5f2c1a';
const execution: ExecutionInfo = {
  id: executionArn,
  name: 'orders-20261122T030000Z-5f2c1a',
  startTime: '2026-11-22T03:00:00.000Z',
};
const plan = {
  runId: 'orders-20261122T030000Z-8d41c0e2',
  target: 'orders',
  engine: 'postgres' as const,
  database: 'orders',
  executionId: executionArn,
  startedAt: '2026-11-22T03:00:00.000Z',
  timezone: 'Europe/Lisbon',
  stagingDir: '/mnt/staging/orders-20261122T030000Z-8d41c0e2',
  fileName: 'orders-20261122T030000Z.dump',
  objectKey: 'orders/20261122/orders-20261122T030000Z.dump',
  destinations: [
    { name: 'primary', type: 's3', required: true },
    { name: 'offsite', type: 'r2', required: false },
  ],
  runner: 'efs' as const,
  runnerReason:
    'deploy.vpc is set and host orders.cluster-c1x2.eu-west-1.rds.amazonaws.com is a name that may resolve inside it',
};
const success: RunState = {
  target: 'orders',
  plan,
  dump: {
    kind: 'staged',
    file: '/mnt/staging/orders-20261122T030000Z-8d41c0e2/orders-20261122T030000Z.dump',
    size: 345_678_912,
    sha256: '9f2c4e0b7d1a8c3e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0',
    compression: 'custom',
    tool: { name: 'pg_dump', version: '18.6' },
    serverVersion: '17.4',
    startedAt: '2026-11-22T03:00:02.000Z',
    finishedAt: '2026-11-22T03:01:14.000Z',
    durationSeconds: 72,
  },
  upload: [
    {
      status: 'stored',
      destination: 'primary',
      type: 's3',
      location: 's3://acme-backups/db/orders/20261122/orders-20261122T030000Z.dump',
      key: 'db/orders/20261122/orders-20261122T030000Z.dump',
      manifestKey: 'db/orders/20261122/orders-20261122T030000Z.dump.manifest.json',
      size: 345_678_912,
      sha256: '9f2c…',
      seconds: 9.4,
    },
    {
      status: 'stored',
      destination: 'offsite',
      type: 'r2',
      location: 'r2://acme-offsite/orders/20261122/orders-20261122T030000Z.dump',
      key: 'orders/20261122/orders-20261122T030000Z.dump',
      manifestKey: 'orders/20261122/orders-20261122T030000Z.dump.manifest.json',
      size: 345_678_912,
      sha256: '9f2c…',
      seconds: 14.1,
    },
  ],
  prune: {
    destinations: [
      { destination: 'primary', kept: 14, deleted: ['db/orders/20261108/orders-20261108T030000Z.dump'] },
      { destination: 'offsite', kept: 7, deleted: [] },
    ],
  },
};
const failure: RunState = {
  target: 'orders',
  plan,
  failure: {
    state: 'Dump',
    error: 'ConnectionError',
    cause: JSON.stringify({
      errorType: 'ConnectionError',
      errorMessage:
        'cannot reach PostgreSQL for target orders (orders.cluster-abc.eu-west-1.rds.amazonaws.com:5432/orders): pg_dump: error: connection to server at "10.0.3.17", port 5432 failed: timeout expired',
      trace: [],
    }),
  },
};

const files = {
  success: path.join(docs, 'mail-success.html'),
  failure: path.join(docs, 'mail-failure.html'),
};
writeFileSync(files.success, successMessage(success, execution).html);
writeFileSync(files.failure, failureMessage(failure, execution).html);
console.log(`wrote ${files.success} and ${files.failure}`);

if (values.screenshot) {
  const profile = mkdtempSync(path.join(tmpdir(), 'stepvault-chromium-'));
  try {
    // An iPhone-sized window: 390 CSS pixels wide, as tall as each mail.
    const heights = { success: 860, failure: 760 };
    for (const [name, file] of Object.entries(files) as ['success' | 'failure', string][]) {
      const png = path.join(docs, `mail-${name}.png`);
      execFileSync(
        values.chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          `--user-data-dir=${profile}`,
          '--hide-scrollbars',
          '--force-device-scale-factor=2',
          `--window-size=390,${heights[name]}`,
          `--screenshot=${png}`,
          `file://${file}`,
        ],
        { stdio: 'ignore' },
      );
      console.log(`screenshot ${png}`);
    }
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
