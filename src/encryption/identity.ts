/**
 * What decrypts a backup: an age identity (AGE-SECRET-KEY-1…, one or more lines of a key file)
 * or, for a backup encrypted with a passphrase, that passphrase. It comes from a file, a secret
 * reference, or (restore only) the environment; never from a command line, where `ps` shows it.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { looksLikeSecretReference, type SecretResolver } from '../config/secrets.ts';
import { ConfigError, DecryptionError } from '../errors.ts';
import { decryptingStream, parseIdentities, type EncryptionFacts } from './age.ts';

/** The environment variable `stepvault restore` reads when --identity is not given. */
export const IDENTITY_VARIABLE = 'STEPVAULT_AGE_IDENTITY';

/**
 * The text of an identity from where `source` says: a secret reference, else a file. `where`
 * names the option or key, for the messages.
 */
export async function readIdentity(source: string, secrets: SecretResolver, where: string): Promise<string> {
  if (/^AGE-SECRET-KEY-/i.test(source.trim()))
    throw new ConfigError(
      `${where} is the identity itself, where anyone listing processes or reading the config can see it; save it in a file (chmod 600) and give its path, or give a secret reference (env:NAME, ssm:/path, secretsmanager:ARN#key)`,
    );
  if (looksLikeSecretReference(source)) return secrets.resolve(source, where);
  try {
    return await readFile(source, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${where}: cannot read the identity file ${source} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give the key file stepvault keygen or age-keygen wrote, or a secret reference`,
    );
  }
}

/** The identity text as the decrypter takes it, for the kind of encryption the manifest records. */
export function decryptionSecret(
  text: string,
  facts: EncryptionFacts,
): { identities: string[] } | { passphrase: string } {
  if (facts.recipients.includes('scrypt')) return { passphrase: text.replace(/\r?\n$/, '') };
  const identities = parseIdentities(text);
  if (identities.length === 0 || identities.some((line) => !/^AGE-SECRET-KEY-/i.test(line)))
    throw new ConfigError(
      'the identity given holds no age identity (lines AGE-SECRET-KEY-1…; # comments allowed): give the key file stepvault keygen or age-keygen wrote',
    );
  return { identities };
}

/**
 * Opens an encrypted backup for reading, or says plainly that the identity does not open it
 * (which recipients it was made for) or that the file is damaged; no database is touched by then.
 */
export async function openEncrypted(
  ciphertext: Readable,
  identityText: string,
  facts: EncryptionFacts,
  name: string,
): Promise<Readable> {
  const secret = decryptionSecret(identityText, facts);
  try {
    return await decryptingStream(ciphertext, secret);
  } catch (error) {
    ciphertext.destroy();
    throw decryptionFailure(error, facts, name);
  }
}

/** Decrypts `from` into `to` (0600), whole and authenticated, before anything reads `to`. */
export async function decryptFile(
  from: string,
  to: string,
  identityText: string,
  facts: EncryptionFacts,
  name: string,
): Promise<void> {
  const plaintext = await openEncrypted(createReadStream(from), identityText, facts, name);
  try {
    await pipeline(plaintext, createWriteStream(to, { mode: 0o600 }));
  } catch (error) {
    throw decryptionFailure(error, facts, name);
  }
}

export function decryptionFailure(error: unknown, facts: EncryptionFacts, name: string): Error {
  if (error instanceof ConfigError) return error;
  const message = (error as Error).message ?? String(error);
  if (/no identity matched|incorrect passphrase|passphrase/i.test(message))
    return new DecryptionError(
      `${name} cannot be decrypted with the identity given: it was encrypted for ${facts.recipients.join(', ')}${facts.recipients.includes('scrypt') ? ' (a passphrase)' : ' (SHA-256 of each recipient, first 16 hex digits)'}; give the identity of one of them. Nothing was restored.`,
      { cause: error },
    );
  return new DecryptionError(
    `${name} is not a whole, unaltered age file (${message}); it was changed or cut short after it was encrypted. Nothing was restored from it; try another backup (stepvault list).`,
    { cause: error },
  );
}
