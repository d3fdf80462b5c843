import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { decryptingStream, encryptingStream, recipientFingerprint, type EncryptionKeys } from './age.ts';
import { openEncrypted } from './identity.ts';

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

/** Encrypts `plain`, handed over in chunks of odd sizes, as the dump's stream does. */
async function encrypt(plain: Buffer, keys: EncryptionKeys): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < plain.length; at += 70_001) chunks.push(plain.subarray(at, at + 70_001));
  const encryptor = await encryptingStream(keys);
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), encryptor, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return Buffer.concat(out);
}

const decrypt = async (cipher: Buffer, secret: Parameters<typeof decryptingStream>[1]) =>
  buffer(await decryptingStream(Readable.from([cipher]), secret));

const facts = (recipients: string[]) => ({ format: 'age' as const, recipients, plaintextSize: 0 });

describe('age on Node streams', () => {
  const plain = randomBytes(300_000); // several 64 KiB chunks and a short last one

  it('round-trips through the streams, and each of several recipients decrypts alone', async () => {
    const operator = await keyPair();
    const breakGlass = await keyPair();
    const cipher = await encrypt(plain, { recipients: [operator.recipient, breakGlass.recipient] });
    expect(cipher.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(cipher.includes(plain.subarray(1000, 1032))).toBe(false);
    expect((await decrypt(cipher, { identities: [operator.identity] })).equals(plain)).toBe(true);
    expect((await decrypt(cipher, { identities: [breakGlass.identity] })).equals(plain)).toBe(true);
  });

  it('seals every size the chunking can meet so that the age library opens it: empty, around and on 64 KiB boundaries', async () => {
    const { identity, recipient } = await keyPair();
    for (const size of [0, 1, 65_535, 65_536, 65_537, 131_072, 131_073]) {
      const sized = randomBytes(size);
      const cipher = await encrypt(sized, { recipients: [recipient] });
      expect((await decrypt(cipher, { identities: [identity] })).equals(sized), `${size} bytes`).toBe(true);
    }
  });

  it('refuses a wrong identity before the first byte, naming the recipients it was made for', async () => {
    const owner = await keyPair();
    const stranger = await keyPair();
    const cipher = await encrypt(plain, { recipients: [owner.recipient] });
    const opening = openEncrypted(
      Readable.from([cipher]),
      stranger.identity,
      facts([recipientFingerprint(owner.recipient)]),
      'x.dump.age',
    );
    await expect(opening).rejects.toThrow(
      `x.dump.age cannot be decrypted with the identity given: it was encrypted for ${recipientFingerprint(owner.recipient)}`,
    );
    await expect(opening).rejects.toMatchObject({ name: 'DecryptionError' });
  });

  it('refuses a truncated ciphertext and an altered one while reading, never handing on unauthenticated bytes as whole', async () => {
    const { identity, recipient } = await keyPair();
    const cipher = await encrypt(plain, { recipients: [recipient] });
    const truncated = cipher.subarray(0, cipher.length - 100);
    const cut = await openEncrypted(Readable.from([truncated]), identity, facts(['f']), 'cut.age');
    await expect(buffer(cut)).rejects.toThrow();
    const altered = Buffer.from(cipher);
    altered[altered.length - 70_000]! ^= 1;
    const changed = await openEncrypted(Readable.from([altered]), identity, facts(['f']), 'changed.age');
    await expect(buffer(changed)).rejects.toThrow();
    // Cut exactly at a chunk boundary: the last chunk's mark is missing, which age also refuses.
    const header = cipher.indexOf('\n---') + 1 + cipher.subarray(cipher.indexOf('\n---') + 1).indexOf('\n') + 1 + 16;
    const atBoundary = cipher.subarray(0, header + 65_536 + 16);
    await expect(
      buffer(await decryptingStream(Readable.from([atBoundary]), { identities: [identity] })),
    ).rejects.toThrow();
  });

  it('encrypts for a passphrase, which opens it and nothing else does', async () => {
    const cipher = await encrypt(Buffer.from('small setup'), { passphrase: 'correct horse battery staple' });
    expect((await decrypt(cipher, { passphrase: 'correct horse battery staple' })).toString()).toBe('small setup');
    const wrong = openEncrypted(Readable.from([cipher]), 'Tr0ub4dor&3\n', facts(['scrypt']), 'p.age');
    await expect(wrong).rejects.toThrow(
      'p.age cannot be decrypted with the identity given: it was encrypted for scrypt (a passphrase)',
    );
  }, 30_000);

  it('fingerprints a recipient without repeating it', async () => {
    const { recipient } = await keyPair();
    expect(recipientFingerprint(recipient)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(recipientFingerprint(recipient)).not.toContain(recipient.slice(4, 20));
  });
});
