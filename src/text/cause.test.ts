import { describe, expect, it } from 'vitest';
import { rememberSecret } from '../redact.ts';
import { readableCause } from './cause.ts';

describe('readableCause', () => {
  it('shows only the message of a Lambda error as Step Functions hands it over', () => {
    const cause = JSON.stringify({ errorType: 'ConfigError', errorMessage: 'no target named "x"', trace: ['at a'] });
    expect(readableCause(cause)).toBe('no target named "x"');
  });

  it('shows any other cause as it is', () => {
    expect(readableCause('States.Timeout after 900 s')).toBe('States.Timeout after 900 s');
    expect(readableCause('{"error":"not a Lambda error"}')).toBe('{"error":"not a Lambda error"}');
  });

  it('never shows a secret the process resolved', () => {
    rememberSecret('hunter2-cause-test');
    expect(readableCause(JSON.stringify({ errorMessage: 'login as app/hunter2-cause-test failed' }))).not.toContain(
      'hunter2-cause-test',
    );
  });

  it('trims a long cause and says so', () => {
    const text = readableCause('x'.repeat(5000));
    expect(text).toBe(`${'x'.repeat(2000)}… (trimmed)`);
  });
});
