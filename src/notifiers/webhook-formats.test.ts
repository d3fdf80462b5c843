/** The chat bodies keep within each service's limits, whatever a fact holds. */
import { describe, expect, it } from 'vitest';
import type { Message, MessageModel } from './types.ts';
import { webhookBody } from './webhook-formats.ts';

const longCause = `pg_dump: error: ${'x'.repeat(5000)}`;
const model: MessageModel = {
  outcome: 'failure',
  subject: '[stepvault] main: backup FAILED in Dump (DumpError)',
  headline: 'Backup of main FAILED in state Dump.',
  facts: [
    ...Array.from({ length: 12 }, (_, i): [string, string] => [`Fact ${i}`, `value <${i}> & more`]),
    ['Cause', longCause],
  ],
  sections: [{ title: 'What this means', lines: ['This run did not complete a backup.'] }],
  footer: ['Run r1', 'Execution e1'],
};
const message: Message = { outcome: 'failure', subject: model.subject, text: 'text', html: '<p>html</p>', model };

describe('webhook bodies', () => {
  it('slack: at most 10 fields a section, mrkdwn escaped, no field over 2,000 characters', () => {
    const body = webhookBody('slack', message) as { blocks: { fields?: { text: string }[] }[] };
    const sections = body.blocks.filter((b) => b.fields);
    expect(sections.map((s) => s.fields!.length)).toEqual([10, 3]);
    expect(sections[0]!.fields![0]!.text).toBe('*Fact 0*\nvalue &lt;0&gt; &amp; more');
    const cause = sections[1]!.fields!.at(-1)!.text;
    expect(cause.length).toBe(2000);
    expect(cause.endsWith('…')).toBe(true);
  });

  it('discord: a field value is cut to 1,024 characters and mentions are switched off', () => {
    const body = webhookBody('discord', message) as {
      allowed_mentions: unknown;
      embeds: { fields: { name: string; value: string }[] }[];
    };
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.embeds[0]!.fields.find((f) => f.name === 'Cause')!.value).toHaveLength(1024);
  });

  it('a message without its model posts its text', () => {
    const bare: Message = { outcome: 'success', subject: 's', text: 'line one\nline two', html: '' };
    expect(webhookBody('json', bare)).toMatchObject({ subject: 's', text: 'line one\nline two', facts: {} });
    expect(JSON.stringify(webhookBody('teams', bare))).toContain('line one');
  });
});
