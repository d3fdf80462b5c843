/**
 * The handlers as Lambda runs them: bundled by esbuild into an index.mjs and the chunks its
 * dynamic import()s load, loading the config named by STEPVAULT_CONFIG, called with the state's input.
 */
import { readFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildFunctions } from '../scripts/build.ts';
import { handlerFile, STEP_NAMES, type StepName } from '../src/steps/table.ts';
import type { Config } from '../src/config/load.ts';
import type { DestinationConfig } from '../src/config/schema.ts';
import { dropboxDestination, startDropboxServer } from './helpers/dropbox-server.ts';
import { gdriveDestination, gdriveOAuthDestination, startGdriveServer } from './helpers/gdrive-server.ts';
import { startSmtpServer, type SmtpTestServer } from './helpers/smtp-server.ts';
import { startTdsServer, type TdsServer } from './helpers/tds-server.ts';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.ts';

const root = path.join(import.meta.dirname, '..');
let outdir: string;
let built: Map<StepName, BuiltFunction>;
let certificate: TestCertificate;
let smtp: SmtpTestServer;
let sqlServer: TdsServer;
const MB = 1024 * 1024;
const SMTP_USER = 'bundle@example.test';
const SMTP_PASSWORD = 'Sv-bundle-smtp-pw';

beforeAll(async () => {
  outdir = await mkdtemp(path.join(tmpdir(), 'stepvault-bundle-'));
  built = new Map((await buildFunctions(outdir)).map((fn) => [fn.name, fn]));
  certificate = await selfSignedCertificate();
  smtp = await startSmtpServer({
    secure: true,
    key: certificate.key,
    cert: certificate.cert,
    user: SMTP_USER,
    password: SMTP_PASSWORD,
  });
  process.env.STEPVAULT_TEST_BUNDLE_SMTP_PASSWORD = SMTP_PASSWORD;
  // A SQL Server stand-in speaking TDS that refuses every login, as SQL Server does with error 18456.
  sqlServer = await startTdsServer({ failLogin: true });
  process.env.STEPVAULT_TEST_BUNDLE_MSSQL_PASSWORD = 'Bundle-mssql-pw';
  await writeFile(
    path.join(outdir, 'stepvault.config.yml'),
    `destinations: { local: { type: filesystem, path: /mnt/backups } }
notifications:
  mail: { type: smtp, host: 127.0.0.1, port: ${smtp.port}, secure: true, ca: ${JSON.stringify(certificate.caFile)},
          user: ${SMTP_USER}, password: env:STEPVAULT_TEST_BUNDLE_SMTP_PASSWORD,
          from: stepvault@example.test, to: [ops@example.test] }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, destinations: [local], staging: /mnt/staging,
            notify: [mail] }
  sales: { engine: mssql, host: 127.0.0.1, port: ${sqlServer.port}, database: sales, user: backup,
           password: env:STEPVAULT_TEST_BUNDLE_MSSQL_PASSWORD, tls: { mode: disable },
           mssql: { sharePath: '\\\\fileserver\\stepvault' }, destinations: [local], staging: /mnt/staging }
`,
  );
  process.env.STEPVAULT_CONFIG = path.join(outdir, 'stepvault.config.yml');
});

afterAll(async () => {
  delete process.env.STEPVAULT_CONFIG;
  delete process.env.STEPVAULT_TEST_BUNDLE_SMTP_PASSWORD;
  delete process.env.STEPVAULT_TEST_BUNDLE_MSSQL_PASSWORD;
  await Promise.all([smtp?.close(), sqlServer?.close()]);
  await certificate?.remove();
  await rm(outdir, { recursive: true, force: true });
});

const sizeOf = async (files: string[]) =>
  (await Promise.all(files.map(async (file) => (await stat(file)).size))).reduce((a, b) => a + b, 0);

/** The output files of a step's bundle that hold code from a package under node_modules. */
async function outputsHolding(step: StepName, packageName: string): Promise<string[]> {
  const metafile = JSON.parse(await readFile(path.join(outdir, `${step}.meta.json`), 'utf8')) as Metafile;
  return Object.entries(metafile.outputs)
    .filter(([, output]) => Object.keys(output.inputs).some((input) => input.includes(`node_modules/${packageName}/`)))
    .map(([file]) => path.resolve(root, file));
}

describe('bundled Lambda handlers', () => {
  it('bundles each step into index.mjs and its chunks, with the settings serverless packages with', async () => {
    const settings = createRequire(import.meta.url)('../scripts/serverless/esbuild.cjs') as { banner: { js: string } };
    for (const name of STEP_NAMES) {
      const fn = built.get(name)!;
      expect(fn.entry, name).toBe(path.join(outdir, name, 'index.mjs'));
      expect(fn.coldLoad, name).toContain(fn.entry);
      expect(fn.packaged, name).toEqual(expect.arrayContaining(fn.coldLoad));
      for (const file of fn.packaged) {
        expect(path.relative(path.join(outdir, name), file), name).toMatch(
          /^(index|chunks\/[\w.-]+-[A-Z0-9]{8})\.mjs$/,
        );
        // Every chunk is a module of its own: each needs the require() that bundled CommonJS calls.
        expect((await readFile(file, 'utf8')).split('\n')[0], file).toBe(settings.banner.js);
      }
    }
  });

  it('loads at most 1 MB on a cold start: the drivers a function rarely uses are chunks loaded on first use', async () => {
    // What a cold start parses is index.mjs and the chunks it imports statically; the chunks behind
    // an import() are read when that import runs. No step needs a driver before its handler runs.
    for (const name of STEP_NAMES) {
      const fn = built.get(name)!;
      expect(await sizeOf(fn.coldLoad), name).toBeLessThanOrEqual(1 * MB);
    }
    // SQL Server's driver (mssql and tedious, about 1.7 MB), nodemailer's SMTP client, the Drive
    // client, the Dropbox SDK and the age library (only an encrypted dump or its drill needs it):
    // never in a cold load, and in the package of the steps that may use them.
    const drivers = [
      'mssql',
      'tedious',
      'nodemailer',
      '@googleapis/drive',
      'google-auth-library',
      'dropbox',
      'age-encryption',
    ];
    for (const name of STEP_NAMES) {
      const fn = built.get(name)!;
      for (const driver of drivers) {
        for (const file of await outputsHolding(name, driver)) {
          expect(fn.coldLoad, `${name}: ${driver}`).not.toContain(file);
        }
      }
    }
    const carried: [StepName, string][] = [
      ['dump', 'tedious'],
      ['checkRdsBackup', 'mssql'],
      ['notify', 'nodemailer'],
      ['upload', '@googleapis/drive'],
      ['upload', 'dropbox'],
      ['dump', 'age-encryption'],
      ['streamDump', 'age-encryption'],
      ['verify', 'age-encryption'],
    ];
    for (const [name, driver] of carried) {
      const holding = await outputsHolding(name, driver);
      expect(holding, `${name}: ${driver}`).not.toEqual([]);
      for (const file of holding) expect(built.get(name)!.packaged, `${name}: ${driver}`).toContain(file);
    }
  });

  it('loads the SMTP client’s chunk from the built folder when Notify mails, and the mail arrives', async () => {
    const { handler } = await import(pathToFileURL(built.get('notify')!.entry).href);
    const result = await handler({
      outcome: 'failure',
      run: { target: 'orders', failure: { state: 'Dump', error: 'ConnectionError', cause: 'db.internal refused' } },
      execution: { id: 'orders-2', name: 'orders-2', startTime: '2026-11-22T03:00:00.000Z' },
    });
    expect(result).toMatchObject({ sent: [{ notifier: 'mail' }], failed: [] });
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({ user: SMTP_USER, secure: true, to: ['ops@example.test'] });
    expect(smtp.received[0]!.raw).toMatch(
      /^Subject: \[stepvault\] orders: backup FAILED in Dump \(ConnectionError\)\r?$/m,
    );
  });

  it('loads SQL Server’s driver chunk from the built folder when Dump connects, and reports the server’s answer', async () => {
    const plan = await import(pathToFileURL(built.get('plan')!.entry).href);
    const execution = { id: 'sales-1', name: 'sales-1', startTime: '2026-11-22T03:00:00.000Z' };
    const planned = await plan.handler({ request: { target: 'sales' }, execution });
    expect(planned).toMatchObject({ target: 'sales', engine: 'mssql' });
    const dump = await import(pathToFileURL(built.get('dump')!.entry).href);
    // The login refused by the server over TDS: the driver was loaded and spoke to it.
    await expect(dump.handler(planned)).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining("Login failed for user 'backup'"),
    });
    expect(sqlServer.batches).toEqual([]);
  });

  it('runs Plan from its bundle with the config from STEPVAULT_CONFIG', async () => {
    const { handler } = await import(pathToFileURL(path.join(outdir, 'plan', 'index.mjs')).href);
    const result = await handler({
      request: { target: 'orders' },
      execution: {
        id: 'arn:aws:states:eu-west-1:123456789012:execution:backup:orders-1',
        name: 'orders-1',
        startTime: '2026-11-22T03:00:00.000Z',
      },
    });
    expect(result).toMatchObject({
      target: 'orders',
      engine: 'postgres',
      objectKey: expect.stringMatching(/^orders\/20261122\/orders-20261122T030000Z-[0-9a-f]{8}\.dump$/),
      stagingDir: expect.stringMatching(/^\/mnt\/staging\/orders-20261122T030000Z-[0-9a-f]{8}$/),
      destinations: [{ name: 'local', type: 'filesystem', required: true }],
    });
  });

  it('reports a bad target as a ConfigError, the name the state machine matches', async () => {
    const { handler } = await import(pathToFileURL(path.join(outdir, 'plan', 'index.mjs')).href);
    const execution = { id: 'x', name: 'x', startTime: '2026-11-22T03:00:00.000Z' };
    await expect(handler({ request: { target: 'nope' }, execution })).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('unknown target "nope"'),
    });
  });
});

describe('a bundled CLI', () => {
  it('has every step’s handler, although the local runner loads them by name', async () => {
    const { outputFileExtension: _, ...settings } = createRequire(import.meta.url)(
      '../scripts/serverless/esbuild.cjs',
    ) as BuildOptions & { outputFileExtension: string };
    const result = await build({
      ...settings,
      entryPoints: [path.join(root, 'src/cli.ts')],
      outdir: path.join(outdir, 'cli'),
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    for (const step of STEP_NAMES) expect(inputs, step).toContain(handlerFile(step));
  });
});

describe('a destination SDK loaded from a bundle', () => {
  /** test/fixtures/bundled-destination.ts bundled as a function is: its SDK behind a dynamic import(), in a chunk. */
  async function bundledPutAndList(): Promise<(config: Config, name: string, key: string) => Promise<string[]>> {
    const { outputFileExtension, ...settings } = createRequire(import.meta.url)(
      '../scripts/serverless/esbuild.cjs',
    ) as BuildOptions & { outputFileExtension: string };
    const into = path.join(outdir, 'destination');
    await build({
      ...settings,
      entryPoints: [path.join(root, 'test/fixtures/bundled-destination.ts')],
      outdir: into,
      entryNames: 'index',
      outExtension: { '.js': outputFileExtension },
      logLevel: 'silent',
    });
    return (await import(pathToFileURL(path.join(into, `index${outputFileExtension}`)).href)).putAndList;
  }

  const configWith = (destination: Record<string, unknown>): Config => ({
    source: 'bundle',
    targets: {},
    destinations: { remote: destination as DestinationConfig },
    notifications: {},
  });

  // The Drive client is CommonJS: a bundle's import() of it has only `default` (the Lambda packages
  // and the CLI's bundle failed with "Cannot read properties of undefined (reading 'JWT')").
  it('writes and lists Google Drive, with a service account and with an OAuth client', async () => {
    const putAndList = await bundledPutAndList();
    const drive = await startGdriveServer();
    try {
      const folder = drive.addFolder('bundle');
      expect(await putAndList(configWith(gdriveDestination(drive, folder)), 'remote', 'a/one.json')).toEqual([
        'a/one.json',
      ]);
      const other = drive.addFolder('bundle-oauth');
      expect(await putAndList(configWith(gdriveOAuthDestination(drive, other)), 'remote', 'b/two.json')).toEqual([
        'b/two.json',
      ]);
    } finally {
      await drive.stop();
    }
  });

  it('writes and lists Dropbox', async () => {
    const putAndList = await bundledPutAndList();
    const dropbox = await startDropboxServer();
    try {
      expect(
        await putAndList(configWith(dropboxDestination(dropbox, { path: '/bundle' })), 'remote', 'c/three.json'),
      ).toEqual(['c/three.json']);
    } finally {
      await dropbox.stop();
    }
  });
});
