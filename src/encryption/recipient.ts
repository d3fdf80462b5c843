/**
 * What the config needs to know of age without loading the age library (a few hundred KB with
 * its post-quantum code, in every function that reads the config): whether a string is a
 * recipient, by its Bech32 encoding (BIP 173) as age writes it, and how an encrypted dump is named.
 * src/encryption/recipient.test.ts holds the answers to the library's own.
 */

/** The extension an encrypted dump's name gets after its own. */
export const AGE_EXTENSION = '.age';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/** The kinds of recipient age-encryption encrypts to, by their Bech32 human-readable part. */
const KINDS: Record<string, { bytes?: number }> = {
  age: { bytes: 32 }, // X25519, what age-keygen and stepvault keygen print
  age1pq: {}, // post-quantum hybrid (age 1.3)
  age1tag: {},
  age1tagpq: {},
};

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) checksum ^= GENERATOR[i]!;
  }
  return checksum >>> 0;
}

/** Why a string is not an age recipient, or undefined when it is one. */
export function recipientProblem(value: string): string | undefined {
  const fix = 'give the public key age1… that stepvault keygen or age-keygen prints, copied whole';
  if (/^AGE-SECRET-KEY-/i.test(value))
    return 'is an age identity (a secret key), not a recipient: remove it from the config at once, and put its recipient here (the age1… line stepvault keygen printed, or `age-keygen -y FILE`)';
  if (!value.startsWith('age1')) return `is not an age recipient (it does not start with age1): ${fix}`;
  if (value !== value.toLowerCase()) return `is not an age recipient (age writes it in lower case): ${fix}`;
  const separator = value.lastIndexOf('1');
  const hrp = value.slice(0, separator);
  const data = [...value.slice(separator + 1)].map((c) => CHARSET.indexOf(c));
  const kind = KINDS[hrp];
  if (!kind) return `is not an age recipient (unknown kind ${hrp}1…): ${fix}`;
  if (data.length < 6 || data.includes(-1))
    return `is not an age recipient (it holds characters Bech32 does not use, or is too short): ${fix}`;
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  if (polymod([...expanded, ...data]) !== 1)
    return `is not an age recipient (its checksum does not match: a character is wrong or missing): ${fix}`;
  const bits = (data.length - 6) * 5;
  if (kind.bytes !== undefined && Math.floor(bits / 8) !== kind.bytes)
    return `is not an age recipient (it is ${Math.floor(bits / 8)} bytes long, an X25519 key is ${kind.bytes}): ${fix}`;
  return undefined;
}
