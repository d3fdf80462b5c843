/**
 * The keys a target's dumps are encrypted with, as the Dump step hands them to the dumper: the
 * recipients as configured, or the passphrase resolved from its secret reference. Nothing that
 * decrypts is ever read here.
 */
import type { Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import type { EncryptionKeys } from './age.ts';

export async function encryptionKeys(target: Target, secrets: SecretResolver): Promise<EncryptionKeys | undefined> {
  const age = target.encryption?.age;
  if (!age) return undefined;
  if (age.recipients) return { recipients: age.recipients };
  // The schema holds one of the two.
  return { passphrase: await secrets.resolve(age.passphrase!, `targets.${target.name}.encryption.age.passphrase`) };
}
