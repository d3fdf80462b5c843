import { Encrypter, generateHybridIdentity, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { recipientProblem } from './recipient.ts';

/** The library's own answer: whether it would encrypt to the string. */
function libraryAccepts(value: string): boolean {
  try {
    new Encrypter().addRecipient(value);
    return true;
  } catch {
    return false;
  }
}

describe('recipientProblem', () => {
  it('agrees with the age library on generated recipients and on every one-character change of them', async () => {
    const recipients = [
      ...(await Promise.all(
        Array.from({ length: 5 }, async () => identityToRecipient(await generateX25519Identity())),
      )),
      await identityToRecipient(await generateHybridIdentity()),
    ];
    let compared = 0;
    for (const recipient of recipients) {
      expect(recipientProblem(recipient), recipient).toBeUndefined();
      expect(libraryAccepts(recipient)).toBe(true);
      for (let at = 4; at < Math.min(recipient.length, 80); at += 3) {
        const changed = `${recipient.slice(0, at)}${recipient[at] === 'q' ? 'p' : 'q'}${recipient.slice(at + 1)}`;
        expect(recipientProblem(changed) === undefined, changed).toBe(libraryAccepts(changed));
        compared++;
      }
      const cut = recipient.slice(0, -1);
      expect(recipientProblem(cut) === undefined).toBe(libraryAccepts(cut));
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('says what is wrong', async () => {
    const recipient = await identityToRecipient(await generateX25519Identity());
    expect(recipientProblem(`${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`)).toContain(
      'its checksum does not match',
    );
    expect(recipientProblem(recipient.toUpperCase())).toContain('does not start with age1');
    expect(recipientProblem('ssh-ed25519 AAAAC3Nza')).toContain('does not start with age1');
    expect(recipientProblem(await generateX25519Identity())).toContain('is an age identity (a secret key)');
    expect(recipientProblem('age1xyz')).toContain('not an age recipient');
  });
});
