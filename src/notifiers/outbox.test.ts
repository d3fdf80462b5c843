import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readableCause } from '../text/cause.ts';
import { OutboxNotifier, renderEml } from './outbox.ts';
import { SecretResolver } from '../config/secrets.ts';
import { notifierFor } from './registry.ts';

describe('outbox messages', () => {
  it('renders an RFC 5322 message with an encoded non-ASCII subject and CRLF lines', () => {
    const eml = renderEml(
      {
        outcome: 'failure',
        subject: '[stepvault] pedidos: backup FAILED in Dump (ConnectionError) ✗',
        text: 'line one\nação\n',
        html: '<p>ação</p>',
      },
      {
        from: 'a@example.test',
        to: ['b@example.test', 'c@example.test'],
        date: new Date('2026-11-22T10:00:00Z'),
        messageId: '<1@x>',
      },
    );
    expect(eml).toContain('To: b@example.test, c@example.test\r\n');
    expect(eml).toContain('Subject: =?UTF-8?B?');
    expect(eml).toContain('Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n');
    expect(eml).toContain('Content-Type: multipart/alternative; boundary="stepvault-1x"');
    expect(eml).toContain(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\nação\r\n\r\n--stepvault-1x',
    );
    expect(eml).toContain(
      `Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from('<p>ação</p>').toString('base64')}\r\n--stepvault-1x--`,
    );
  });

  it('wraps long lines below the 998-octet limit', () => {
    const eml = renderEml(
      { outcome: 'failure', subject: 's', text: 'x'.repeat(2500), html: `<p>${'y'.repeat(3000)}</p>` },
      { from: 'a@x', to: ['b@x'], date: new Date(), messageId: '<m>' },
    );
    expect(eml.split('\r\n').every((line) => line.length <= 900)).toBe(true);
    expect(eml).toContain(`${'x'.repeat(900)}\r\n${'x'.repeat(900)}\r\n${'x'.repeat(700)}\r\n`);
  });

  it('shows only the message of a Lambda error document, trimmed', () => {
    expect(readableCause('{"errorType":"DumpError","errorMessage":"pg_dump failed","trace":["at x"]}')).toBe(
      'pg_dump failed',
    );
    expect(readableCause('plain cause')).toBe('plain cause');
    expect(readableCause('y'.repeat(3000))).toMatch(/^y{2000}… \(trimmed\)$/);
  });
});

describe('outbox permissions', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))));
  const message = { outcome: 'success' as const, subject: 's', text: 't', html: '<p>t</p>' };
  const modeOf = async (file: string) => (await stat(file)).mode & 0o777;
  const config = (desk: string) =>
    parseConfig(
      `notifications:\n  desk: { type: outbox, path: ./outbox${desk} }\ntargets:\n  t: { engine: postgres, host: h, database: d, notify: [desk] }\ndestinations:\n  l: { type: filesystem, path: ./b }\ndefaults: { destinations: [l] }\n`,
      '/x/stepvault.config.yml',
      folders.at(-1)!,
    );

  it('writes mail files 0600 in 0700 folders by default, whatever the umask', async () => {
    folders.push(await mkdtemp(path.join(tmpdir(), 'stepvault-outbox-')));
    const previous = process.umask(0o022);
    try {
      const { notifier } = notifierFor(config(''), 'desk', new SecretResolver());
      const file = await notifier.send(message);
      expect(await modeOf(file)).toBe(0o600);
      expect(await modeOf(path.dirname(file))).toBe(0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('grants a group read with mode "0640", also through a umask that would take it away', async () => {
    folders.push(await mkdtemp(path.join(tmpdir(), 'stepvault-outbox-')));
    const previous = process.umask(0o077);
    try {
      const { notifier } = notifierFor(config(`/nested, mode: "0640"`), 'desk', new SecretResolver());
      const file = await notifier.send(message);
      expect(await modeOf(file)).toBe(0o640);
      expect(await modeOf(path.dirname(file))).toBe(0o750);
      expect(await modeOf(path.dirname(path.dirname(file)))).toBe(0o750);
      expect((await readdir(path.dirname(file))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      process.umask(previous);
    }
  });

  it('leaves a folder it did not create as it is', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'stepvault-outbox-'));
    folders.push(folder);
    const file = await new OutboxNotifier('desk', { path: folder }).send(message);
    expect(await modeOf(folder)).toBe(0o700); // mkdtemp's own
    expect(await modeOf(file)).toBe(0o600);
  });

  it('refuses modes that open mail to others, or that YAML read as a decimal number, with the reason', () => {
    const problem = (mode: string) => {
      try {
        config(`, mode: ${mode}`);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`mode ${mode} was accepted`);
    };
    folders.push('/nonexistent-base');
    expect(problem('"0644"')).toContain('notifications.desk.mode: must not give others any access');
    expect(problem('0640')).toContain(
      'notifications.desk.mode: must be an octal mode in quotes, e.g. "0600" or "0640" (unquoted, YAML reads it as the decimal number 640)',
    );
    expect(problem('"rw-r-----"')).toMatch(
      /notifications\.desk\.mode: must be an octal mode in quotes, e\.g\. "0600" or "0640"$/m,
    );
    expect(problem('"0400"')).toContain('notifications.desk.mode: must let the owner read and write');
    expect(problem('"0700"')).toContain('notifications.desk.mode: must not make mail files executable');
  });
});
