/** `notifications.<name>`: who hears of a run, one schema per notifier type. */
import * as z from 'zod';
import { email } from './fields.ts';

const notificationEvent = z.enum(['success', 'failure']);

/**
 * Permissions of the outbox's mail files, as an octal string: owner-only by default; a share
 * may grant its group read ("0640"), never others.
 */
const outboxMode = z.unknown().transform((value, ctx) => {
  const problem =
    typeof value !== 'string' || !/^0?[0-7]{3}$/.test(value)
      ? `must be an octal mode in quotes, e.g. "0600" or "0640"${typeof value === 'number' ? ` (unquoted, YAML reads it as the decimal number ${value})` : ''}`
      : (parseInt(value, 8) & 0o600) !== 0o600
        ? 'must let the owner read and write (at least "0600")'
        : (parseInt(value, 8) & 0o007) !== 0
          ? 'must not give others any access: mails name databases and where their backups are (use "0600" or "0640")'
          : (parseInt(value, 8) & 0o111) !== 0
            ? 'must not make mail files executable (use "0600" or "0640")'
            : undefined;
  if (problem) {
    ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  }
  return value as string;
});

export const outboxNotificationSchema = z.strictObject({
  type: z.literal('outbox'),
  path: z.string().min(1),
  from: email.optional(),
  to: z.array(email).optional(),
  mode: outboxMode.default('0600'),
  on: z.array(notificationEvent).min(1).default(['failure', 'success']),
});

export const sesNotificationSchema = z.strictObject({
  type: z.literal('ses'),
  /** A verified SES identity (the address, or an address of a verified domain). */
  from: email,
  to: z.array(email).min(1, 'needs at least one recipient'),
  cc: z.array(email).optional(),
  on: z.array(notificationEvent).min(1).default(['failure', 'success']),
  configurationSet: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
});

export const notificationSchema = z.discriminatedUnion('type', [outboxNotificationSchema, sesNotificationSchema]);

export type NotificationConfig = z.output<typeof notificationSchema>;
export type NotificationEvent = z.output<typeof notificationEvent>;
