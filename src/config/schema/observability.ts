/** `events` and `observability`: where a run's events, errors and logs go besides the logs of the function. */
import * as z from 'zod';
import { isSecretReference } from '../secrets.ts';
import { endpoint, secretReference } from './fields.ts';

export const eventsSchema = z.strictObject({
  /** An event bus name or ARN; `default` is the account's default bus. */
  bus: z.string().min(1),
  source: z.string().min(1).default('stepvault'),
});

export const observabilitySchema = z.strictObject({
  sentry: z
    .strictObject({
      dsn: z.string().refine((v) => isSecretReference(v) || /^https?:\/\/[^@\s/]+@[^/\s]+\/.+/.test(v), {
        message: 'must be a Sentry DSN (https://<key>@<host>/<project>) or a secret reference to one',
      }),
      environment: z.string().min(1).optional(),
    })
    .optional(),
  seq: z
    .strictObject({
      url: endpoint,
      apiKey: secretReference.optional(),
    })
    .optional(),
});

export type EventsConfig = z.output<typeof eventsSchema>;
export type ObservabilityConfig = z.output<typeof observabilitySchema>;
