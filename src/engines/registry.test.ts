import { describe, expect, it } from 'vitest';
import { dumpOptionsSchema } from '../config/schema.ts';
import { engineForScheme, engineInfo, ENGINES } from './registry.ts';

describe('engines', () => {
  it('name only dump options the schema has, and never list one as both read and refused', () => {
    const known = Object.keys(dumpOptionsSchema.shape);
    for (const engine of ENGINES) {
      const info = engineInfo(engine);
      expect(known, engine).toEqual(expect.arrayContaining([...info.dumpOptions]));
      for (const key of Object.keys(info.dumpOptionFixes ?? {})) {
        expect(known, engine).toContain(key);
        expect(info.dumpOptions, `${engine}.${key}`).not.toContain(key);
      }
    }
  });

  it('claim each URL scheme once, and tell how to restore what no client restores', () => {
    const schemes = ENGINES.flatMap((engine) => engineInfo(engine).urlSchemes);
    expect(new Set(schemes).size).toBe(schemes.length);
    for (const engine of ENGINES) {
      const info = engineInfo(engine);
      for (const scheme of info.urlSchemes) expect(engineForScheme(scheme)).toBe(engine);
      if (!info.restoreFamily) expect(info.restoreHint, engine).toBeTruthy();
      if (info.restoreFamily)
        expect(info.urlSchemes.length, `${engine} is restorable, so --into must be able to name it`).toBeGreaterThan(0);
    }
  });
});
