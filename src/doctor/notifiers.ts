/**
 * Each notifier of the target can send, asked without sending anything: SMTP connects, sets up
 * TLS and logs in; SES says the sender is a verified identity; an outbox folder takes a file. A
 * webhook is only known to work by posting to it, which would be a message: it is skipped.
 */
import { notifierFor } from '../notifiers/registry.ts';
import type { Check, CheckResult } from './types.ts';
import { fail, ok, skip } from './types.ts';

const FIXES: Record<string, string> = {
  smtp: 'check host, port, secure/requireTLS, user and password; a relay must accept this machine',
  ses: 'verify the from address or its domain in SES, in the region of the notification (ses:GetEmailIdentity must be allowed)',
  outbox: 'make the path a writable folder',
};

export const notifiersCheck: Check = {
  id: 'notifiers',
  name: 'notifiers',
  async run({ config, target, secrets }) {
    const results: CheckResult[] = [];
    for (const name of target.notify) {
      const line = `notifier ${name}`;
      try {
        const { notifier, settings } = notifierFor(config, name, secrets);
        if (!notifier.check) {
          results.push(
            skip(line, `a ${settings.type} notification is only proven by sending one; doctor sends nothing`),
          );
          continue;
        }
        try {
          results.push(ok(line, await notifier.check()));
        } catch (error) {
          results.push(
            fail(
              line,
              (error as Error).message,
              `notifications.${name}: ${FIXES[settings.type] ?? 'check its settings'}`,
            ),
          );
        }
      } catch (error) {
        results.push(fail(line, (error as Error).message));
      }
    }
    return results;
  },
};
