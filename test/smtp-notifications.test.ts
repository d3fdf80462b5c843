/**
 * Mail through a real SMTP server started here (smtp-server) over TLS with a self-signed
 * certificate: implicit TLS and STARTTLS, each message read back raw from the server and decoded.
 * Then what must not cost a good backup: a refused login, an untrusted certificate and a server
 * that never answers each end as a failed notification, within the configured time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { startSilentServer, type SilentServer } from './helpers/silent-server.ts';
import { startSmtpServer, type SmtpTestServer } from './helpers/smtp-server.ts';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.ts';
import { configFor, workspacePool, type RunRecord } from './helpers/workspace.ts';

const SMTP_USER = 'backups@example.test';
const SMTP_PASSWORD = 'Sv-smtp-t3st-pw';
const database = uniqueName('sv_pg_smtp');
const workspaces = workspacePool();
let certificate: TestCertificate;
let implicit: SmtpTestServer;
let starttls: SmtpTestServer;
let silent: SilentServer;

beforeAll(async () => {
  certificate = await selfSignedCertificate();
  const login = { key: certificate.key, cert: certificate.cert, user: SMTP_USER, password: SMTP_PASSWORD };
  implicit = await startSmtpServer({ secure: true, ...login });
  starttls = await startSmtpServer({ secure: false, ...login });
  silent = await startSilentServer();
  process.env.STEPVAULT_TEST_SMTP_PASSWORD = SMTP_PASSWORD;
  process.env.STEPVAULT_TEST_SMTP_WRONG = 'not-the-password';
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g`);
});

afterAll(async () => {
  await Promise.all([implicit?.close(), starttls?.close(), silent?.close()]);
  await workspaces.removeAll();
  await certificate?.remove();
  await dropDatabase(database);
});

const target = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };

function smtpConfig(smtp: Record<string, unknown>, targetOverrides: Record<string, unknown> = {}) {
  return configFor(
    { ...target, ...targetOverrides },
    {
      notifications: {
        mail: {
          type: 'smtp',
          host: '127.0.0.1',
          from: 'stepvault@example.test',
          to: ['ops@example.test'],
          user: SMTP_USER,
          password: 'env:STEPVAULT_TEST_SMTP_PASSWORD',
          ...smtp,
        },
      },
      defaults: { staging: './staging', destinations: ['local'], notify: ['mail'] },
    },
  );
}

/** The text and HTML parts of a raw MIME message, decoded from quoted-printable or base64. */
function parts(raw: string): { text: string; html: string; headers: string } {
  const [headers = ''] = raw.split('\r\n\r\n');
  const boundary = /boundary="?([^"\r\n;]+)"?/.exec(raw)?.[1];
  const found = { text: '', html: '', headers };
  for (const part of boundary ? raw.split(`--${boundary}`).slice(1, -1) : []) {
    const [head = '', ...rest] = part.replace(/^\r\n/, '').split('\r\n\r\n');
    const body = rest.join('\r\n\r\n').replace(/\r\n$/, '');
    const value = /base64/i.test(head)
      ? Buffer.from(body.replace(/\r\n/g, ''), 'base64').toString('utf8')
      : /quoted-printable/i.test(head)
        ? quotedPrintable(body)
        : body;
    if (/text\/plain/i.test(head)) found.text = value.replace(/\r\n/g, '\n');
    if (/text\/html/i.test(head)) found.html = value;
  }
  return found;
}

function quotedPrintable(body: string): string {
  const bytes: number[] = [];
  const text = body.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? /^[0-9A-F]{2}/i.exec(text.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function noPasswordIn(record: RunRecord): void {
  expect(record.logs.join('\n') + JSON.stringify(record.state)).not.toContain(SMTP_PASSWORD);
}

describe('SMTP mail', () => {
  it('implicit TLS with the CA: the success mail, logged in, text and HTML as SES sends them', async () => {
    const workspace = await workspaces.withConfig(
      smtpConfig({ port: implicit.port, secure: true, ca: certificate.caFile, cc: ['dba@example.test'] }),
    );
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(record.state.notification).toMatchObject({ sent: [{ notifier: 'mail' }], failed: [] });
    const [mail, ...more] = implicit.received;
    expect(more).toEqual([]);
    expect(mail).toMatchObject({
      user: SMTP_USER,
      secure: true,
      from: 'stepvault@example.test',
      to: ['ops@example.test', 'dba@example.test'],
    });
    const { text, html, headers } = parts(mail!.raw);
    expect(headers).toMatch(/^Subject: \[stepvault\] main: backup succeeded \([\d.]+ KB\)$/m);
    expect(headers).toMatch(/^X-Stepvault-Outcome: success$/m);
    for (const part of [text, html]) {
      expect(part).toContain(database);
      expect(part).toContain(record.state.dump!.sha256);
      expect(part).toContain('local: kept 1, deleted 0');
    }
    expect(text).toMatch(/^Backup of main succeeded\.$/m);
    expect(html).toContain('<meta name="viewport" content="width=device-width,initial-scale=1">');
    noPasswordIn(record);
  });

  it('STARTTLS on submission: the failure mail names the state, the error and its cause', async () => {
    const workspace = await workspaces.withConfig(
      smtpConfig({ port: starttls.port, ca: certificate.caFile, to: ['failures@example.test'] }, { port: 1 }),
    );
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    const mail = starttls.received.find((m) => m.to.includes('failures@example.test'));
    expect(mail).toMatchObject({ user: SMTP_USER, secure: true });
    const { text, html, headers } = parts(mail!.raw);
    expect(headers).toMatch(/^Subject: \[stepvault\] main: backup FAILED in Dump \(ConnectionError\)$/m);
    for (const part of [text, html]) {
      expect(part).toContain('FAILED in state Dump');
      expect(part).toMatch(/cannot reach PostgreSQL for target main/);
    }
    noPasswordIn(record);
  });

  it('a certificate from an unknown CA: no mail, the backup succeeds, and the message says to set ca', async () => {
    const workspace = await workspaces.withConfig(smtpConfig({ port: implicit.port, secure: true }));
    const before = implicit.received.length;
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(implicit.received.length).toBe(before);
    expect(record.state.notification?.failed).toEqual([
      {
        notifier: 'mail',
        error: expect.stringMatching(
          /^ConfigError: SMTP notification mail \(127\.0\.0\.1:\d+\): the server's TLS certificate is not trusted \(.*self.signed.*\); for a private CA set ca: to its PEM file$/,
        ),
      },
    ]);
  });

  it('a refused login: the backup succeeds, `stepvault run` exits 0 and says the notification failed', async () => {
    const workspace = await workspaces.withConfig(
      smtpConfig({
        port: implicit.port,
        secure: true,
        ca: certificate.caFile,
        password: 'env:STEPVAULT_TEST_SMTP_WRONG',
      }),
    );
    const result = await runCli(['run', '--config', 'stepvault.config.yml', '--target', 'main', '--verbose'], {
      cwd: workspace.dir,
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Backup of main succeeded/);
    expect(result.stdout).toMatch(
      /notification mail FAILED: ConfigError: SMTP notification mail \(127\.0\.0\.1:\d+\): the server refused the login as backups@example\.test: 535 .*Invalid username or password/,
    );
    expect(implicit.logins).toContainEqual({ user: SMTP_USER, accepted: false });
    const documents = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(documents.find((d) => 'NotificationFailed' in d)).toMatchObject({ NotificationFailed: 1, target: 'main' });
    expect(result.stdout + result.stderr).not.toContain('not-the-password');
  }, 60_000);

  it('a server that never answers: the notification fails after timeoutSeconds, the backup stands', async () => {
    const workspace = await workspaces.withConfig(smtpConfig({ port: silent.port, timeoutSeconds: 2 }));
    const started = Date.now();
    const record = await workspace.run('main');
    const seconds = (Date.now() - started) / 1000;
    expect(record.status, record.cause).toBe('SUCCEEDED');
    expect(silent.connections()).toBeGreaterThan(0);
    expect(record.state.notification?.failed).toEqual([
      {
        notifier: 'mail',
        error: expect.stringMatching(
          /^TransientError: SMTP notification mail \(127\.0\.0\.1:\d+\): no answer within 2 s/,
        ),
      },
    ]);
    // The two seconds of silence and the run itself; nowhere near Notify's 60.
    expect(seconds).toBeLessThan(20);
  }, 60_000);
});
