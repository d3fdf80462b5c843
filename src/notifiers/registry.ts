import type { Config } from '../config/load.ts';
import type { NotificationConfig } from '../config/schema.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { OutboxNotifier } from './outbox.ts';
import { SesNotifier } from './ses.ts';
import { SmtpNotifier } from './smtp.ts';
import type { Notifier } from './types.ts';
import { WebhookNotifier } from './webhook.ts';

/**
 * The notifier for a named notification; its secrets resolve through `secrets` when it sends.
 * Adding one: a file beside this one and a case here.
 */
export function notifierFor(
  config: Config,
  name: string,
  secrets: SecretResolver,
): { notifier: Notifier; settings: NotificationConfig } {
  const settings = Object.hasOwn(config.notifications, name) ? config.notifications[name] : undefined;
  if (!settings) throw new ConfigError(`no notification named "${name}" in the config`);
  const resolveSecret = (reference: string, where: string) => secrets.resolve(reference, where);
  switch (settings.type) {
    case 'outbox':
      return {
        notifier: new OutboxNotifier(name, {
          path: settings.path,
          ...(settings.from !== undefined && { from: settings.from }),
          ...(settings.to !== undefined && { to: settings.to }),
          mode: parseInt(settings.mode, 8),
        }),
        settings,
      };
    case 'ses':
      return {
        notifier: new SesNotifier(name, {
          from: settings.from,
          to: settings.to,
          ...(settings.cc && { cc: settings.cc }),
          ...(settings.configurationSet && { configurationSet: settings.configurationSet }),
          ...(settings.region && { region: settings.region }),
        }),
        settings,
      };
    case 'smtp': {
      const { type: _type, on: _on, ...smtp } = settings;
      return { notifier: new SmtpNotifier(name, { ...smtp, resolveSecret }), settings };
    }
    case 'webhook':
      return {
        notifier: new WebhookNotifier(name, {
          format: settings.format,
          url: settings.url,
          timeoutSeconds: settings.timeoutSeconds,
          resolveSecret,
        }),
        settings,
      };
  }
}
