/**
 * `encryption`, per target or in `defaults`: the dump is encrypted with age before anything is
 * written. The config holds only what encrypts (recipients, the public keys; or a passphrase as a
 * secret reference), so whatever runs the backup can write backups it cannot read.
 */
import * as z from 'zod';
import { recipientProblem } from '../../encryption/recipient.ts';
import { secretReference } from './fields.ts';

export const ageRecipient = z.string().superRefine((value, ctx) => {
  const problem = recipientProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const encryptionSchema = z.strictObject({
  age: z
    .strictObject({
      /** Public keys (age1…); each one's identity decrypts every backup (an operator key, a break-glass key). */
      recipients: z.array(ageRecipient).min(1, 'is empty: list at least one recipient (age1…)').optional(),
      /** A passphrase (scrypt), as a secret reference: for small setups with no key pair. */
      passphrase: secretReference.optional(),
    })
    .superRefine((age, ctx) => {
      if (age.recipients && age.passphrase !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['passphrase'],
          message:
            'and recipients exclude each other: an age file is encrypted for recipients or for one passphrase, never both; keep recipients (stepvault keygen makes a key pair), or remove them',
        });
      } else if (!age.recipients && age.passphrase === undefined) {
        ctx.addIssue({
          code: 'custom',
          message:
            'says neither whom to encrypt for nor with what: add recipients: [age1…] (stepvault keygen prints one), or passphrase: env:NAME',
        });
      }
    }),
});

export type EncryptionConfig = z.output<typeof encryptionSchema>;
