/**
 * The field shapes several sections share: names, hosts, folders, secret references, time
 * zones, URLs and addresses. Each carries the message a user sees when the value is wrong.
 */
import * as z from 'zod';
import { looksLikeSecretReference, SECRET_REFERENCE_HELP, secretReferenceProblem } from '../secrets.ts';

export const name = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/,
    'use letters, digits, "-" and "_" (at most 63), starting with a letter or digit',
  );

/**
 * A name handed to a database tool (database, user, table or schema pattern). It may hold
 * anything the database allows except a leading "-": some tools would take it for an option.
 */
export const toolName = (max: number) =>
  z
    .string()
    .min(1)
    .max(max, `is longer than ${max} characters; no database allows a name that long`)
    .refine((v) => !v.startsWith('-'), {
      message: 'must not start with "-": a database tool would read it as an option; rename it, or leave it out',
    });

/** A host name, IP address ([::1] for IPv6) or a PostgreSQL socket folder. */
export const host = z
  .string()
  .min(1)
  .max(253, 'is longer than 253 characters, the longest a host name can be')
  .regex(
    /^(?!-)[A-Za-z0-9._:%/[\]-]+$/,
    'must be a host name, an IP address or a socket folder: letters, digits and . - _ : [ ] / only, not starting with "-"',
  );

/** A folder inside a destination: relative, and never climbing out of it. */
export const prefix = z
  .string()
  .max(512, 'is longer than 512 characters; use a shorter folder')
  .refine((v) => !v.startsWith('/') && !v.split(/[/\\]/).includes('..'), {
    message:
      'must stay inside the destination: a relative folder such as "db" or "backups/prod", without ".." and not starting with "/"',
  });

export const secretReference = z
  .string()
  .refine(looksLikeSecretReference, {
    message: `must be a secret reference (${SECRET_REFERENCE_HELP}), never the secret itself`,
    abort: true,
  })
  .superRefine((value, ctx) => {
    const problem = secretReferenceProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const timezone = z.string().refine(isKnownTimezone, {
  message: 'is not an IANA time zone; use a name such as UTC, Europe/Lisbon or America/New_York',
});

export const endpoint = z.string().refine((v) => /^https?:\/\/[^/\s]+/.test(v), {
  message: 'must start with http:// or https:// (e.g. https://s3.eu-central-003.backblazeb2.com)',
});

export const email = z.email({ message: 'is not an email address (name@example.com)' });

export function isKnownTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
