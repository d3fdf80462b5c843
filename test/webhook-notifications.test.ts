/**
 * Chat webhooks through the workflow, against a local HTTP server that keeps every body: Slack,
 * Microsoft Teams, Discord and plain JSON each receive the same facts as the mail (target,
 * outcome, size, where the backup is, or the error and its cause). A webhook that refuses, fails
 * or never answers is a failed notification with its status, and the backup still succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpRecorder, type HttpRecorder, type RecordedRequest } from './helpers/http-recorder.ts';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { startSilentServer, type SilentServer } from './helpers/silent-server.ts';
import { configFor, workspacePool } from './helpers/workspace.ts';

const database = uniqueName('sv_pg_hook');
const workspaces = workspacePool();
let chat: HttpRecorder;
let silent: SilentServer;

const FORMATS = ['slack', 'teams', 'discord', 'json'] as const;
/** The path a format's webhook posts to, with a token as real webhook URLs carry. */
const hookPath = (name: string) => `/hooks/${name}/T0KEN-${name}`;

beforeAll(async () => {
  chat = await startHttpRecorder((request) => {
    if (request.url.startsWith('/hooks/gone/')) return { status: 404, body: 'no_service' };
    if (request.url.startsWith('/hooks/broken/')) return { status: 503, body: '{"message":"try later"}' };
    return { status: request.url.includes('discord') ? 204 : 200, body: request.url.includes('slack') ? 'ok' : '' };
  });
  silent = await startSilentServer();
  for (const name of [...FORMATS, 'gone', 'broken']) {
    process.env[`STEPVAULT_TEST_HOOK_${name.toUpperCase()}`] = `${chat.url}${hookPath(name)}`;
  }
  process.env.STEPVAULT_TEST_HOOK_HUNG = `${silent.url}/hooks/hung`;
  await createDatabase(database);
  await psql(database, `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g`);
});

afterAll(async () => {
  await Promise.all([chat?.stop(), silent?.close()]);
  await workspaces.removeAll();
  await dropDatabase(database);
});

const target = { engine: 'postgres', host: PG.host, port: PG.port, user: PG.user, database };

function hooks(names: string[]): Record<string, unknown> {
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        type: 'webhook',
        format: (FORMATS as readonly string[]).includes(name) ? name : 'json',
        url: `env:STEPVAULT_TEST_HOOK_${name.toUpperCase()}`,
        ...(name === 'hung' && { timeoutSeconds: 1 }),
      },
    ]),
  );
}

/** The bodies posted to one format's webhook since `from`. */
function bodies(format: string, from: number): unknown[] {
  return chat.requests
    .slice(from)
    .filter((r: RecordedRequest) => r.url === hookPath(format))
    .map((r) => {
      expect(r.method).toBe('POST');
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      return JSON.parse(r.body) as unknown;
    });
}

describe('webhook notifications', () => {
  it('success: each format carries the target, the outcome, the size and where the backup is', async () => {
    const names = [...FORMATS, 'gone', 'broken', 'hung'];
    const workspace = await workspaces.withConfig(
      configFor(target, {
        notifications: hooks(names),
        defaults: { staging: './staging', destinations: ['local'], notify: names },
      }),
    );
    const from = chat.requests.length;
    const record = await workspace.run('main');
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const { dump } = record.state;
    const size = `${dump!.size} bytes`;
    const where = record.state.upload![0]!.status === 'stored' ? record.state.upload![0]!.location : '?';

    const [slack] = bodies('slack', from) as [
      { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[] }[] },
    ];
    expect(slack.text).toMatch(/^\[stepvault\] main: backup succeeded \([\d.]+ KB\)$/);
    expect(slack.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Backup of main succeeded.' },
    });
    const slackFacts = slack.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(slackFacts).toContain('*Target*\nmain');
    expect(slackFacts).toContain(`*Database*\n${database}`);
    expect(slackFacts.find((f) => f.startsWith('*Size*'))).toContain(size);
    expect(slackFacts).toContain(`*SHA-256*\n${dump!.sha256}`);
    expect(JSON.stringify(slack.blocks)).toContain(where);

    const [teams] = bodies('teams', from) as [
      { type: string; attachments: { contentType: string; content: { body: Record<string, unknown>[] } }[] },
    ];
    expect(teams.type).toBe('message');
    expect(teams.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = teams.attachments[0]!.content.body;
    expect(card[0]).toMatchObject({ type: 'TextBlock', text: 'Backup of main succeeded.', color: 'Good' });
    const teamsFacts = (card[1] as { facts: { title: string; value: string }[] }).facts;
    expect(teamsFacts).toContainEqual({ title: 'Target', value: 'main' });
    expect(teamsFacts.find((f) => f.title === 'Size')?.value).toContain(size);
    expect(JSON.stringify(card)).toContain(where);

    const [discord] = bodies('discord', from) as [
      {
        content: string;
        allowed_mentions: unknown;
        embeds: { title: string; color: number; description: string; fields: { name: string; value: string }[] }[];
      },
    ];
    expect(discord.content).toBe(slack.text);
    expect(discord.allowed_mentions).toEqual({ parse: [] });
    expect(discord.embeds[0]).toMatchObject({ title: 'Backup of main succeeded.', color: 0x1a7f37 });
    expect(discord.embeds[0]!.fields).toContainEqual(expect.objectContaining({ name: 'Target', value: 'main' }));
    expect(discord.embeds[0]!.fields.find((f) => f.name === 'Size')?.value).toContain(size);
    expect(discord.embeds[0]!.description).toContain(where);

    const [json] = bodies('json', from) as [
      { outcome: string; subject: string; facts: Record<string, string>; sections: unknown[]; text: string },
    ];
    expect(json).toMatchObject({ outcome: 'success', subject: slack.text });
    expect(json.facts).toMatchObject({ Target: 'main', Database: database, 'SHA-256': dump!.sha256 });
    expect(json.facts.Size).toContain(size);
    expect(json.sections).toContainEqual({ title: 'Stored in', lines: [`local: ${where}`] });
    expect(json.text).toContain('Backup of main succeeded.');

    // Refused, failing and silent webhooks: a failed notification each, with the status; the backup stands.
    expect(record.state.notification?.sent.map((s) => s.notifier).sort()).toEqual([...FORMATS].sort());
    const failed = Object.fromEntries(record.state.notification!.failed.map((f) => [f.notifier, f.error]));
    expect(failed).toEqual({
      gone: `ConfigError: json webhook notification gone (127.0.0.1:${chat.port}) was refused: HTTP 404 Not Found: no_service; check the webhook URL and format`,
      broken: `TransientError: json webhook notification broken (127.0.0.1:${chat.port}) failed: HTTP 503 Service Unavailable: {"message":"try later"}`,
      hung: `TransientError: json webhook notification hung (127.0.0.1:${silent.port}) got no answer within 1 s`,
    });
    expect(record.metrics.find((d) => 'NotificationFailed' in d)).toMatchObject({ NotificationFailed: 3 });
    // The URL is a secret: its token is in no log line and no state.
    expect(record.logs.join('\n') + JSON.stringify(record.state)).not.toContain('T0KEN');
  }, 60_000);

  it('failure: each format carries the failed state, the error and its cause', async () => {
    const workspace = await workspaces.withConfig(
      configFor(
        { ...target, port: 1 },
        {
          notifications: hooks([...FORMATS]),
          defaults: { staging: './staging', destinations: ['local'], notify: [...FORMATS] },
        },
      ),
    );
    const from = chat.requests.length;
    const record = await workspace.run('main');
    expect(record.status).toBe('FAILED');
    const subject = '[stepvault] main: backup FAILED in Dump (ConnectionError)';
    const cause = /cannot reach PostgreSQL for target main/;
    for (const format of FORMATS) {
      const [body, ...more] = bodies(format, from);
      expect(more, format).toEqual([]);
      const text = JSON.stringify(body);
      expect(text, format).toContain('Backup of main FAILED in state Dump.');
      expect(text, format).toContain('ConnectionError');
      expect(text, format).toMatch(cause);
    }
    const [json] = bodies('json', from) as [{ outcome: string; subject: string; facts: Record<string, string> }];
    expect(json).toMatchObject({
      outcome: 'failure',
      subject,
      facts: { 'Failed in': 'Dump', Error: 'ConnectionError' },
    });
    expect(json.facts.Cause).toMatch(cause);
    const [discord] = bodies('discord', from) as [{ embeds: { color: number }[] }];
    expect(discord.embeds[0]!.color).toBe(0xcf222e);
  }, 60_000);
});
