import { describe, expect, it } from 'vitest';
import { isSecretReference, parseSecretReference, SecretResolver, secretReferenceProblem } from './secrets.ts';

describe('secret references', () => {
  it('recognises the three schemes', () => {
    expect(parseSecretReference('secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:db#password')).toEqual({
      scheme: 'secretsmanager',
      locator: 'arn:aws:secretsmanager:eu-west-1:1:secret:db#password',
    });
    expect(isSecretReference('ssm:/prod/db/password')).toBe(true);
    expect(isSecretReference('hunter2')).toBe(false);
  });

  it('resolves env: at run time and names the variable and the config path when it is missing', async () => {
    const secrets = new SecretResolver();
    process.env.STEPVAULT_UNIT_SECRET = 'value';
    await expect(secrets.resolve('env:STEPVAULT_UNIT_SECRET', 'targets.a.password')).resolves.toBe('value');
    await expect(secrets.resolve('env:STEPVAULT_UNIT_MISSING', 'targets.a.password')).rejects.toThrow(
      'targets.a.password: environment variable STEPVAULT_UNIT_MISSING is not set; export it before the run (env:STEPVAULT_UNIT_MISSING)',
    );
  });

  it('says when a scheme has no resolver here, without the reference’s value', async () => {
    await expect(new SecretResolver().resolve('ssm:/prod/db', 'targets.a.password')).rejects.toThrow(
      'targets.a.password: ssm: secrets cannot be resolved here (no AWS client configured); use env:NAME locally',
    );
  });

  it('uses a registered resolver, once per reference', async () => {
    let calls = 0;
    const secrets = new SecretResolver({ ssm: async (ref) => `from ${ref.locator} #${++calls}` });
    expect(await secrets.resolve('ssm:/p', 'x')).toBe('from /p #1');
    expect(await secrets.resolve('ssm:/p', 'x')).toBe('from /p #1');
  });
});

describe('malformed secret references', () => {
  it.each([
    ['secretsmanager:', 'secretsmanager: says where the secret is; write it after the colon'],
    ['secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:x#', 'secretsmanager: needs one key after "#"'],
    ['secretsmanager:#password', "secretsmanager: needs the secret's ARN or name before any #key"],
    ['env:', 'env: says where the secret is'],
    ['env:ORDERS-PW', 'env: needs the name of an environment variable'],
    ['ssm:/a b', 'ssm: needs a parameter name or ARN'],
  ])('%s is refused with what to write', (reference, message) => {
    expect(secretReferenceProblem(reference)).toContain(message);
  });

  it.each([
    'env:ORDERS_PW',
    'ssm:/stepvault/orders/password',
    'ssm:name',
    'secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:x#password',
    'secretsmanager:orders',
  ])('%s is well formed', (reference) => {
    expect(secretReferenceProblem(reference)).toBeUndefined();
  });
});
