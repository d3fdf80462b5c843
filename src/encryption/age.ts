/**
 * age (age-encryption.org/v1) on Node streams: the dump's bytes are encrypted after compression
 * and before anything is written, for recipients (public keys) or a passphrase, and decrypted
 * only where an identity is given (restore, the drill). The library works on web streams; these
 * bridge them to Node's, chunk by chunk (age encrypts in 64 KiB chunks), so memory stays flat.
 * Decryption is the library's (about 87 MiB/s a core); encryption for recipients seals the payload
 * with Node's own cipher, ten times faster, since every backup pays for it.
 */
import { createHash } from 'node:crypto';
import { Duplex, Readable, Transform, type TransformCallback } from 'node:stream';
import { Decrypter, Encrypter } from 'age-encryption';
import { AgePayloadEncryptor, payloadKey } from './stream-cipher.ts';

/** What a dump is encrypted for: recipients, or one passphrase (age allows no passphrase beside recipients). */
export type EncryptionKeys = { recipients: readonly string[] } | { passphrase: string };

/** What the manifest says about an encrypted backup: enough to know which identity opens it, and nothing secret. */
export interface EncryptionFacts {
  format: 'age';
  /** A fingerprint per recipient (recipientFingerprint), or `scrypt` for a passphrase. */
  recipients: string[];
  /** The size of the dump before encryption (size and sha256 are the stored ciphertext's). */
  plaintextSize: number;
}

/** Names a recipient without repeating it: the first 16 hex digits of the SHA-256 of its string. */
export function recipientFingerprint(recipient: string): string {
  return `sha256:${createHash('sha256').update(recipient).digest('hex').slice(0, 16)}`;
}

export function keyFingerprints(keys: EncryptionKeys): string[] {
  return 'recipients' in keys ? keys.recipients.map(recipientFingerprint) : ['scrypt'];
}

/**
 * A stream that takes plaintext and gives the age file that encrypts it. For recipients, the
 * library writes the header (it wraps the file key for each recipient and MACs the header) by
 * encrypting nothing, with one more recipient of our own that only learns the file key; the
 * payload is then sealed with Node's ChaCha20-Poly1305 (stream-cipher.ts). A passphrase (scrypt,
 * for small setups) goes through the library whole: it allows no other recipient beside it.
 */
export async function encryptingStream(keys: EncryptionKeys): Promise<Duplex> {
  const encrypter = new Encrypter();
  if ('passphrase' in keys) {
    encrypter.setPassphrase(keys.passphrase);
    const plaintext = new TransformStream<Uint8Array, Uint8Array>();
    const ciphertext = await encrypter.encrypt(plaintext.readable);
    return Duplex.fromWeb({ writable: plaintext.writable, readable: ciphertext });
  }
  let fileKey: Uint8Array | undefined;
  encrypter.addRecipient({
    wrapFileKey: (key) => {
      fileKey = key.slice();
      return [];
    },
  });
  for (const recipient of keys.recipients) encrypter.addRecipient(recipient);
  // header, the 16-byte nonce, then the one sealed chunk of an empty payload (its 16-byte tag).
  const empty = await encrypter.encrypt(new Uint8Array(0));
  if (!fileKey) throw new Error('the age library did not hand the file key to every recipient');
  const prefix = Buffer.from(empty.subarray(0, empty.length - 16));
  const nonce = prefix.subarray(prefix.length - 16);
  return new AgePayloadEncryptor(prefix, payloadKey(fileKey, nonce));
}

/** The identities in a key file's text: AGE-SECRET-KEY-1… lines; comments and blank lines are skipped. */
export function parseIdentities(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Decrypts an age file. The header is read and unwrapped before this resolves, so an identity
 * that opens nothing fails here, before a reader starts; a truncated or altered body fails
 * while it is read (every chunk is authenticated, the last one marked as last).
 */
export async function decryptingStream(
  ciphertext: Readable,
  secrets: { identities: readonly string[] } | { passphrase: string },
): Promise<Readable> {
  const decrypter = new Decrypter();
  if ('identities' in secrets) for (const identity of secrets.identities) decrypter.addIdentity(identity);
  else decrypter.addPassphrase(secrets.passphrase);
  const web = Readable.toWeb(ciphertext) as unknown as ReadableStream<Uint8Array>;
  return Readable.fromWeb((await decrypter.decrypt(web)) as import('node:stream/web').ReadableStream<Uint8Array>);
}

/** Counts the bytes that pass: the plaintext size of an encrypted dump. */
export class ByteCounter extends Transform {
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}
