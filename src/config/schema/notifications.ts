/** `notifications.<name>`: who hears of a run, one schema per notifier type. */
import * as z from 'zod';
import { email, host, secretReference } from './fields.ts';

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

/** How long a notifier waits for a server before the message counts as failed: well inside Notify's 60 s. */
const timeoutSeconds = z.int().min(1).max(45, 'must be at most 45: Notify itself stops after 60 s').default(15);

export const smtpNotificationSchema = z
  .strictObject({
    type: z.literal('smtp'),
    host,
    /** By default 465 with `secure`, else 587 (submission with STARTTLS). */
    port: z.int().min(1).max(65535).optional(),
    /** Implicit TLS from the first byte (port 465); otherwise the connection is upgraded with STARTTLS. */
    secure: z.boolean().default(false),
    /**
     * Without `secure`: refuse to go on when the server offers no STARTTLS (the default). Only a relay on
     * a trusted network may turn it off, and then without a login.
     */
    requireTLS: z.boolean().default(true),
    /** A CA bundle file (PEM) the server's certificate must chain to, for a private CA. */
    ca: z.string().min(1).optional(),
    /** The login name: plain, or a secret reference. */
    user: z.string().min(1).optional(),
    password: secretReference.optional(),
    from: email,
    to: z.array(email).min(1, 'needs at least one recipient'),
    cc: z.array(email).optional(),
    timeoutSeconds,
    on: z.array(notificationEvent).min(1).default(['failure', 'success']),
  })
  .superRefine((smtp, ctx) => {
    if ((smtp.user === undefined) !== (smtp.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [smtp.user === undefined ? 'user' : 'password'],
        message: 'is missing: a login needs both user and password (or neither, for a relay that needs none)',
      });
    }
    if (!smtp.secure && !smtp.requireTLS && smtp.password !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['requireTLS'],
        message:
          'cannot be false with a password: the login would cross the network in clear; keep requireTLS (STARTTLS) or set secure: true',
      });
    }
  });

export const WEBHOOK_FORMATS = ['slack', 'teams', 'discord', 'json'] as const;

export const webhookNotificationSchema = z.strictObject({
  type: z.literal('webhook'),
  /** The shape of the body: a Slack or Discord incoming webhook, a Teams workflow, or the facts as JSON. */
  format: z.enum(WEBHOOK_FORMATS),
  /** The webhook's URL, as a secret reference: whoever holds it can post into the channel. */
  url: secretReference,
  timeoutSeconds,
  on: z.array(notificationEvent).min(1).default(['failure', 'success']),
});

export const notificationSchema = z.discriminatedUnion('type', [
  outboxNotificationSchema,
  sesNotificationSchema,
  smtpNotificationSchema,
  webhookNotificationSchema,
]);

export type NotificationConfig = z.output<typeof notificationSchema>;
export type NotificationEvent = z.output<typeof notificationEvent>;
export type SmtpNotificationConfig = z.output<typeof smtpNotificationSchema>;
export type WebhookNotificationConfig = z.output<typeof webhookNotificationSchema>;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];
