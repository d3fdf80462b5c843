/**
 * Every notification type the config accepts has a notifier: a new type must get a sample here
 * (the type checker asks for it), and the registry must build its notifier from the config.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { notificationSchema, type NotificationConfig } from '../config/schema.ts';
import { notifierFor } from './registry.ts';

/** One notification of each type. */
const SAMPLES: { [Type in NotificationConfig['type']]: string } = {
  outbox: '{ type: outbox, path: ./outbox }',
  ses: '{ type: ses, from: backups@example.com, to: [ops@example.com] }',
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
      const { notifier, settings } = notifierFor(config, 'sample');
      expect(notifier.name).toBe('sample');
      expect(settings.type).toBe(type);
    });
  }
});
