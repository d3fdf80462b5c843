import { PassThrough } from 'node:stream';
import { Decrypter, Encrypter } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { keygenCommand } from './keygen.ts';

async function keygen(): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: '', err: '' };
  out.on('data', (c: Buffer) => (chunks.out += c));
  err.on('data', (c: Buffer) => (chunks.err += c));
  const code = await keygenCommand([], out, err);
  return { code, ...chunks };
}

describe('stepvault keygen', () => {
  it('prints a key file whose identity opens what its printed recipient encrypts', async () => {
    const { code, out, err } = await keygen();
    expect(code).toBe(0);
    const identity = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(out)?.[0];
    const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(out)?.[1];
    expect(identity).toBeDefined();
    expect(err).toContain(`Public key (the recipient): ${recipient}`);
    // The identity goes to the key file only, never beside the advice.
    expect(err).not.toContain('AGE-SECRET-KEY-1Q');
    expect(err).not.toContain(identity);
    expect(err).toContain('Keep it out of the config');

    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient!);
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity!);
    expect(await decrypter.decrypt(await encrypter.encrypt('marker'), 'text')).toBe('marker');
  });

  it('makes a new pair each time', async () => {
    expect((await keygen()).out).not.toBe((await keygen()).out);
  });
});
