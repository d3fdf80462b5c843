/**
 * Every notification type the config accepts has a notifier: a new type must get a sample here
 * (the type checker asks for it), and the registry must build its notifier from the config.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { notificationSchema, type NotificationConfig } from '../config/schema.ts';
import { SecretResolver } from '../config/secrets.ts';
import { stepStatements } from '../deploy/policies.ts';
import { notifierFor } from './registry.ts';

/** One notification of each type. */
const SAMPLES: { [Type in NotificationConfig['type']]: string } = {
  outbox: '{ type: outbox, path: ./outbox }',
  ses: '{ type: ses, from: backups@example.com, to: [ops@example.com] }',
  smtp: '{ type: smtp, host: smtp.example.com, from: backups@example.com, to: [ops@example.com] }',
  webhook: '{ type: webhook, format: slack, url: "env:SLACK_WEBHOOK_URL" }',
};

describe('the notification types', () => {
  it('are the ones the config accepts, each with a sample here', () => {
    const accepted = notificationSchema.options.map((option) => option.shape.type.value);
    expect(Object.keys(SAMPLES).sort()).toEqual([...accepted].sort());
  });

  for (const [type, sample] of Object.entries(SAMPLES)) {
    it(`${type}: the registry builds its notifier, named after the notification`, () => {
      const config = parseConfig(
        `destinations: { local: { type: filesystem, path: ./backups } }
notifications: { sample: ${sample} }
targets: { orders: { engine: postgres, host: db.internal, database: orders, destinations: [local], notify: [sample] } }
`,
        '/x/stepvault.config.yml',
        '/x',
      );
      const { notifier, settings } = notifierFor(config, 'sample', new SecretResolver());
      expect(notifier.name).toBe('sample');
      expect(settings.type).toBe(type);
    });
  }

  it("the deployment lets Notify, and no other step, read the notifiers' secrets", () => {
    const config = parseConfig(
      `destinations: { local: { type: filesystem, path: ./backups } }
notifications:
  mail: { type: smtp, host: smtp.example.com, from: a@example.com, to: [b@example.com], user: "ssm:/mail/user", password: "ssm:/mail/password" }
  relay: { type: smtp, host: relay.internal, from: a@example.com, to: [b@example.com], user: plain-name, password: "ssm:/relay/password" }
  chat: { type: webhook, format: teams, url: "ssm:/chat/url" }
targets: { orders: { engine: postgres, host: db.internal, database: orders, destinations: [local], notify: [mail] } }
`,
      '/x/stepvault.config.yml',
      '/x',
    );
    const readable = (step: 'notify' | 'plan') =>
      JSON.stringify(stepStatements(step, config).filter((s) => JSON.stringify(s).includes('ssm:GetParameter')));
    for (const parameter of ['/mail/user', '/mail/password', '/relay/password', '/chat/url']) {
      expect(readable('notify')).toContain(`parameter${parameter}`);
      expect(readable('plan')).not.toContain(`parameter${parameter}`);
    }
    expect(readable('notify')).not.toContain('plain-name');
  });
});
