/**
 * Every destination type the config accepts is one the code knows in full: the registry builds
 * its provider, resolves each of its secret references when a step runs, and the deployment lets
 * the roles that use the destination read each of them. A new type must get a sample here (the
 * type checker asks for it), and then the tests say what is missing.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { destinationSchema, type DestinationConfig } from '../config/schema.ts';
import { isSecretReference, SecretResolver } from '../config/secrets.ts';
import { secretUses } from '../deploy/secrets.ts';
import { storageFor } from './registry.ts';

/** One destination of each type, with every option that is a secret reference set. */
const SAMPLES: { [Type in DestinationConfig['type']]: string } = {
  filesystem: '{ type: filesystem, path: ./backups }',
  s3: '{ type: s3, bucket: backups, region: eu-west-1, accessKeyId: ssm:/s3/id, secretAccessKey: ssm:/s3/key }',
  r2: `{ type: r2, accountId: ${'a'.repeat(32)}, bucket: backups, accessKeyId: ssm:/r2/id, secretAccessKey: ssm:/r2/key }`,
  dropbox:
    '{ type: dropbox, appKey: ssm:/dbx/key, appSecret: ssm:/dbx/secret, refreshToken: ssm:/dbx/refresh, folder: /Backups/db }',
  gdrive: '{ type: gdrive, folderId: 0AbCdEfGhIjKlMnOpQ, serviceAccountKey: ssm:/gdrive/key }',
  supabase: `{ type: supabase, projectRef: ${'abcdefghij'.repeat(2)}, region: eu-central-1, bucket: backups, accessKeyId: ssm:/sb/id, secretAccessKey: ssm:/sb/key }`,
};

function configWith(type: DestinationConfig['type']) {
  const text = `destinations: { sample: ${SAMPLES[type]} }
targets: { orders: { engine: postgres, host: db.internal, database: orders, destinations: [sample] } }
`;
  return parseConfig(text, '/x/stepvault.config.yml', '/x');
}

/** The secret references among a destination's options. */
function references(destination: object): string[] {
  return Object.values(destination).filter((v): v is string => typeof v === 'string' && isSecretReference(v));
}

describe('the destination types', () => {
  it('are the ones the config accepts, each with a sample here', () => {
    const accepted = destinationSchema.options.map((option) => option.shape.type.value);
    expect(Object.keys(SAMPLES).sort()).toEqual([...accepted].sort());
  });

  for (const type of Object.keys(SAMPLES) as DestinationConfig['type'][]) {
    it(`${type}: the registry builds its provider and resolves each of its secret references`, async () => {
      const config = configWith(type);
      const resolved: string[] = [];
      const secrets = new SecretResolver({
        ssm: async (reference) => {
          resolved.push(`ssm:${reference.locator}`);
          return `value of ${reference.locator}`;
        },
      });
      const storage = await storageFor(config, 'sample', secrets);
      expect(storage.name).toBe('sample');
      expect(resolved.sort()).toEqual(references(config.destinations.sample!).sort());
    });

    it(`${type}: the deployment grants each of its secret references to the roles that use it`, () => {
      const config = configWith(type);
      const granted = (secretUses(config).destinations.get('sample') ?? []).map((use) => use.reference);
      expect(granted.sort()).toEqual(references(config.destinations.sample!).sort());
    });
  }
});
