/**
 * A chat webhook (Slack, Microsoft Teams, Discord) or any endpoint that takes the facts as JSON:
 * one POST per message. The URL is a secret (whoever holds it posts into the channel), so no
 * message names more of it than its host.
 */
import type { WebhookFormat } from '../config/schema/notifications.ts';
import { ConfigError, TransientError } from '../errors.ts';
import { webhookBody } from './webhook-formats.ts';
import type { Message, Notifier } from './types.ts';

export interface WebhookSettings {
  format: WebhookFormat;
  /** A secret reference to the URL. */
  url: string;
  timeoutSeconds: number;
  resolveSecret: (reference: string, where: string) => Promise<string>;
}

/** How much of a refusal's body the error repeats: enough for Slack's `invalid_payload` or a JSON error. */
const BODY_EXCERPT = 200;

export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly settings: WebhookSettings;

  constructor(name: string, settings: WebhookSettings) {
    this.name = name;
    this.settings = settings;
  }

  async send(message: Message): Promise<string> {
    const { format, timeoutSeconds } = this.settings;
    const url = await this.settings.resolveSecret(this.settings.url, `notifications.${this.name}.url`);
    const host = hostOf(url, this.name);
    const what = `${format} webhook notification ${this.name} (${host})`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(webhookBody(format, message)),
        // A redirect would carry the message somewhere the config does not name.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutSeconds * 1000),
      });
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') {
        throw new TransientError(`${what} got no answer within ${timeoutSeconds} s`, { cause: error });
      }
      throw new TransientError(`${what} could not be reached: ${e.cause?.code ?? e.cause?.message ?? e.name}`, {
        cause: error,
      });
    }
    const text = await response.text().catch(() => '');
    if (response.status >= 200 && response.status < 300) {
      return `${host}: HTTP ${response.status}`;
    }
    const detail = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${text.trim() ? `: ${text.trim().slice(0, BODY_EXCERPT)}` : ''}`;
    // 4xx other than throttling: the URL or the body is wrong, and sending again changes nothing.
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      throw new ConfigError(`${what} was refused: ${detail}; check the webhook URL and format`);
    }
    throw new TransientError(`${what} failed: ${detail}`);
  }
}

function hostOf(url: string, name: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`notifications.${name}.url does not hold a URL; store the webhook's https:// address in it`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(
      `notifications.${name}.url holds a ${parsed.protocol} address; a webhook is an https:// address`,
    );
  }
  return parsed.host;
}
