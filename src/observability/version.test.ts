import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { STEPVAULT_VERSION } from './outcome.ts';

describe('the version stepvault reports', () => {
  it("is package.json's", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(STEPVAULT_VERSION).toBe(pkg.version);
  });
});
