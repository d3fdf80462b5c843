import type { Config } from '../config/load.ts';
import { CredentialCache } from '../config/credential-cache.ts';
import type { DestinationConfig } from '../config/schema.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { FilesystemStorage } from './filesystem.ts';
import { isMemoryDestination, MemoryStorage } from './memory.ts';
import { S3Storage } from './s3.ts';
import { s3Profile } from './s3-profile.ts';
import type { StorageProvider } from './types.ts';

/**
 * One provider per destination, built from the credentials it was given: clients are made once
 * and kept while the destination's secrets keep their values, and made anew when one rotates.
 */
const providers = new CredentialCache<StorageProvider>();

type Credentials = { accessKeyId: string; secretAccessKey: string };

/**
 * The provider for a named destination. Adding a provider: a file beside this one and a case
 * here. Static keys are secret references, resolved now (by this invocation's resolver, so a
 * rotated key is seen); without them the SDK's default chain (the Lambda role) is used.
 */
export async function storageFor(config: Config, name: string, secrets: SecretResolver): Promise<StorageProvider> {
  const destination = Object.hasOwn(config.destinations, name) ? config.destinations[name] : undefined;
  if (!destination) throw new ConfigError(`no destination named "${name}" in the config`);
  const credentials = await resolveCredentials(destination, name, secrets);
  // The destination's settings hold references, not values: they may sit in the fingerprint.
  const builtFrom = [JSON.stringify(destination), credentials?.accessKeyId, credentials?.secretAccessKey];
  const slot = `${config.source}\u0000${name}`;
  return providers.get(slot, builtFrom, async () => createProvider(config, name, destination, credentials));
}

async function resolveCredentials(
  destination: DestinationConfig,
  name: string,
  secrets: SecretResolver,
): Promise<Credentials | undefined> {
  if (isMemoryDestination(destination) || destination.type === 'filesystem') return undefined;
  if (!destination.accessKeyId || !destination.secretAccessKey) return undefined;
  return {
    accessKeyId: await secrets.resolve(destination.accessKeyId, `destinations.${name}.accessKeyId`),
    secretAccessKey: await secrets.resolve(destination.secretAccessKey, `destinations.${name}.secretAccessKey`),
  };
}

function createProvider(
  config: Config,
  name: string,
  destination: DestinationConfig,
  credentials: Credentials | undefined,
): StorageProvider {
  // Only a config built in code (tests) has one: the config file's schema has no memory type.
  if (isMemoryDestination(destination)) return new MemoryStorage(name, destination, `${config.source}\u0000${name}`);
  switch (destination.type) {
    case 'filesystem':
      return new FilesystemStorage(name, destination);
    case 's3':
    case 'r2':
      return new S3Storage({
        name,
        type: destination.type,
        profile: s3Profile(name, destination),
        ...(credentials && { credentials }),
        ...(destination.partSizeMB && { partSizeMB: destination.partSizeMB }),
        ...(destination.concurrency && { concurrency: destination.concurrency }),
      });
  }
}

/** The provider cache's keys: destinations and fingerprints, never a secret's value. */
export function storageCacheKeys(): string[] {
  return providers.keys();
}
