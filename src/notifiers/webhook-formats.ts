/**
 * The bodies a chat webhook accepts, built from the same message model as the mail: the headline,
 * every labelled fact (target, database, size, where it is stored, the error and its cause) and the
 * sections. Each service's limits are applied here (Slack's 3,000 characters a block, Discord's
 * 25 fields of 1,024), so a long cause is shortened rather than the whole post refused.
 */
import type { WebhookFormat } from '../config/schema/notifications.ts';
import type { Message, MessageModel } from './types.ts';

export function webhookBody(format: WebhookFormat, message: Message): unknown {
  const model = message.model ?? modelOf(message);
  switch (format) {
    case 'slack':
      return slackBody(model);
    case 'teams':
      return teamsBody(model);
    case 'discord':
      return discordBody(model);
    case 'json':
      return jsonBody(model, message.text);
  }
}

/** A message that came without its model (built by hand): its text is the one section. */
function modelOf(message: Message): MessageModel {
  return {
    outcome: message.outcome,
    subject: message.subject,
    headline: message.subject,
    facts: [],
    sections: [{ title: 'Message', lines: message.text.split('\n') }],
    footer: [],
  };
}

function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Slack's mrkdwn reads &, < and > as markup. */
function slackEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function sectionText(
  section: MessageModel['sections'][number],
  escapeMarkup: (v: string) => string,
  max: number,
): string {
  const lines = section.lines.map((l) => escapeMarkup(l));
  const body = section.code ? `\`\`\`\n${lines.join('\n')}\n\`\`\`` : lines.map((l) => `• ${l.trim()}`).join('\n');
  return clip(`*${escapeMarkup(section.title)}*\n${body}`, max);
}

/** Slack incoming webhook: `text` is what the notification shows; the blocks are the message. */
function slackBody(model: MessageModel): unknown {
  const fields = model.facts.map(([label, value]) => ({
    type: 'mrkdwn',
    text: clip(`*${slackEscape(label)}*\n${slackEscape(value)}`, 2000),
  }));
  const factBlocks = [];
  // A section holds at most 10 fields.
  for (let i = 0; i < fields.length; i += 10) factBlocks.push({ type: 'section', fields: fields.slice(i, i + 10) });
  return {
    text: model.subject,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(model.headline, 150) } },
      ...factBlocks,
      ...model.sections.map((s) => ({
        type: 'section',
        text: { type: 'mrkdwn', text: sectionText(s, slackEscape, 3000) },
      })),
      ...(model.link
        ? [{ type: 'section', text: { type: 'mrkdwn', text: `<${model.link.url}|${slackEscape(model.link.label)}>` } }]
        : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(slackEscape(model.footer.join(' · ')), 3000) }] },
    ],
  };
}

/** Microsoft Teams: an Adaptive Card, as a Teams workflow's "when a webhook request is received" takes it. */
function teamsBody(model: MessageModel): unknown {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            {
              type: 'TextBlock',
              text: model.headline,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
              color: model.outcome === 'success' ? 'Good' : 'Attention',
            },
            { type: 'FactSet', facts: model.facts.map(([title, value]) => ({ title, value })) },
            ...model.sections.map((s) => ({
              type: 'TextBlock',
              wrap: true,
              text: `**${s.title}**\n\n${s.lines.map((l) => `- ${l.trim()}`).join('\n')}`,
            })),
            { type: 'TextBlock', text: model.footer.join(' · '), isSubtle: true, size: 'Small', wrap: true },
          ],
          ...(model.link && { actions: [{ type: 'Action.OpenUrl', title: model.link.label, url: model.link.url }] }),
        },
      },
    ],
  };
}

const DISCORD_COLOUR = { success: 0x1a7f37, failure: 0xcf222e };

/** Discord webhook: one embed, a field per fact (at most 25, 1,024 characters each). */
function discordBody(model: MessageModel): unknown {
  return {
    content: clip(model.subject, 2000),
    // The message names databases and keys, never people: no @mentions, whatever a value holds.
    allowed_mentions: { parse: [] },
    embeds: [
      {
        title: clip(model.headline, 256),
        color: DISCORD_COLOUR[model.outcome],
        ...(model.link && { url: model.link.url }),
        description: clip(model.sections.map((s) => sectionText(s, (v) => v, 4096)).join('\n\n'), 4096),
        fields: model.facts.slice(0, 25).map(([name, value]) => ({
          name: clip(name, 256),
          value: clip(value || '-', 1024),
          inline: value.length < 40,
        })),
        footer: { text: clip(model.footer.join(' · '), 2048) },
      },
    ],
  };
}

/** The facts for a program: keys as the mail labels them, plus the mail's text. */
function jsonBody(model: MessageModel, text: string): unknown {
  return {
    outcome: model.outcome,
    subject: model.subject,
    headline: model.headline,
    facts: Object.fromEntries(model.facts),
    sections: model.sections.map((s) => ({ title: s.title, lines: s.lines })),
    ...(model.link && { link: model.link.url }),
    footer: model.footer,
    text,
  };
}
