import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CredentialCache, secretFingerprint } from './credential-cache.ts';

describe('secretFingerprint', () => {
  it('is equal for equal values and differs when any value changes', () => {
    expect(secretFingerprint(['id', 'secret'])).toBe(secretFingerprint(['id', 'secret']));
    expect(secretFingerprint(['id', 'secret'])).not.toBe(secretFingerprint(['id', 'rotated']));
    expect(secretFingerprint(['ab', 'c'])).not.toBe(secretFingerprint(['a', 'bc']));
    expect(secretFingerprint([undefined])).not.toBe(secretFingerprint(['']));
  });

  it('holds neither the value nor its plain SHA-256, which a guess could be checked against', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    const fingerprint = secretFingerprint([secret]);
    expect(fingerprint).not.toContain(secret);
    expect(fingerprint).not.toBe(createHash('sha256').update(secret).digest('hex'));
  });
});

describe('CredentialCache', () => {
  it('builds once for the same secrets, anew when one rotates, and keeps one entry per slot', async () => {
    const cache = new CredentialCache<{ built: number }>();
    let builds = 0;
    const build = async () => ({ built: ++builds });
    const first = await cache.get('dest', ['key', 'old-secret'], build);
    expect(await cache.get('dest', ['key', 'old-secret'], build)).toBe(first);
    const rotated = await cache.get('dest', ['key', 'new-secret'], build);
    expect(rotated).not.toBe(first);
    expect(await cache.get('dest', ['key', 'new-secret'], build)).toBe(rotated);
    expect(builds).toBe(2);
    expect(cache.keys()).toHaveLength(2);
    expect(cache.keys().join(' ')).not.toMatch(/old-secret|new-secret/);
  });

  it('forgets a build that failed, so the next call builds again', async () => {
    const cache = new CredentialCache<string>();
    const failing = async (): Promise<string> => Promise.reject(new Error('no route'));
    await expect(cache.get('dest', ['s'], failing)).rejects.toThrow('no route');
    expect(await cache.get('dest', ['s'], async () => 'built')).toBe('built');
  });
});
