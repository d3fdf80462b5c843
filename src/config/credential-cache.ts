/**
 * Things built from resolved secrets (a storage client holding static keys) outlive the
 * invocation whose resolver produced them, while secrets are resolved afresh in every one so a
 * rotation is picked up. So such a thing is cached under what it was built from: its slot (a
 * config's destination) and a fingerprint of the secret values. A rotated secret gives another
 * fingerprint and the thing is built anew; an unchanged one finds the same thing again.
 *
 * The fingerprint is an HMAC under a key made when the process starts, never the values nor a
 * plain hash of them: a cache key in a heap dump or a debugger must not give a secret away, nor
 * let one be confirmed by hashing guesses.
 */
import { createHmac, randomBytes } from 'node:crypto';

const PROCESS_KEY = randomBytes(32);

/** A fingerprint of secret values: equal for equal values within this process, and unreadable. */
export function secretFingerprint(values: readonly (string | undefined)[]): string {
  const hmac = createHmac('sha256', PROCESS_KEY);
  // Length-prefixed, so ['ab', 'c'] and ['a', 'bc'] differ.
  for (const value of values) hmac.update(value === undefined ? '-' : `${Buffer.byteLength(value)}:${value};`);
  return hmac.digest('hex');
}

/** One entry per slot: the last thing built there and the fingerprint of what it was built from. */
export class CredentialCache<T> {
  private readonly entries = new Map<string, { fingerprint: string; value: Promise<T> }>();

  /**
   * The thing in `slot` if it was built from these same secret values, else a new one from
   * `build`, which replaces it (one entry per slot: a rotation does not pile up old clients).
   * A build that fails is forgotten, so the next call tries again.
   */
  get(slot: string, secrets: readonly (string | undefined)[], build: () => Promise<T>): Promise<T> {
    const fingerprint = secretFingerprint(secrets);
    const cached = this.entries.get(slot);
    if (cached?.fingerprint === fingerprint) return cached.value;
    const value = build();
    const entry = { fingerprint, value };
    this.entries.set(slot, entry);
    value.catch(() => {
      if (this.entries.get(slot) === entry) this.entries.delete(slot);
    });
    return value;
  }

  /** Every key the cache holds (slots and fingerprints), to show that no secret is among them. */
  keys(): string[] {
    return [...this.entries].flatMap(([slot, entry]) => [slot, entry.fingerprint]);
  }
}
