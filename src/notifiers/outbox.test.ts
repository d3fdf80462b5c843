import { describe, expect, it } from 'vitest';
import { readableCause } from './message.ts';
import { renderEml } from './outbox.ts';

describe('outbox messages', () => {
  it('renders an RFC 5322 message with an encoded non-ASCII subject and CRLF lines', () => {
    const eml = renderEml(
      { outcome: 'failure', subject: '[stepvault] pedidos: backup FAILED in Dump (ConnectionError) ✗', text: 'line one\nação\n', html: '<p>ação</p>' },
      { from: 'a@example.test', to: ['b@example.test', 'c@example.test'], date: new Date('2026-11-22T10:00:00Z'), messageId: '<1@x>' },
    );
    expect(eml).toContain('To: b@example.test, c@example.test\r\n');
    expect(eml).toContain('Subject: =?UTF-8?B?');
    expect(eml).toContain('Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n');
    expect(eml).toContain('Content-Type: multipart/alternative; boundary="stepvault-1x"');
    expect(eml).toContain('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\nação\r\n\r\n--stepvault-1x');
    expect(eml).toContain(`Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from('<p>ação</p>').toString('base64')}\r\n--stepvault-1x--`);
  });

  it('wraps long lines below the 998-octet limit', () => {
    const eml = renderEml({ outcome: 'failure', subject: 's', text: 'x'.repeat(2500), html: `<p>${'y'.repeat(3000)}</p>` }, { from: 'a@x', to: ['b@x'], date: new Date(), messageId: '<m>' });
    expect(eml.split('\r\n').every((line) => line.length <= 900)).toBe(true);
    expect(eml).toContain(`${'x'.repeat(900)}\r\n${'x'.repeat(900)}\r\n${'x'.repeat(700)}\r\n`);
  });

  it('shows only the message of a Lambda error document, trimmed', () => {
    expect(readableCause('{"errorType":"DumpError","errorMessage":"pg_dump failed","trace":["at x"]}')).toBe('pg_dump failed');
    expect(readableCause('plain cause')).toBe('plain cause');
    expect(readableCause('y'.repeat(3000))).toMatch(/^y{2000}… \(trimmed\)$/);
  });
});
