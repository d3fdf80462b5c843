import type { Config } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { FilesystemStorage } from './filesystem.ts';
import { isMemoryDestination, MemoryStorage } from './memory.ts';
import { S3Storage } from './s3.ts';
import { s3Profile } from './s3-profile.ts';
import type { StorageProvider } from './types.ts';

/** One provider per destination for the life of the process: clients are made once, lazily. */
const providers = new Map<string, Promise<StorageProvider>>();

/**
 * The provider for a named destination. Adding a provider: a file beside this one and a case
 * here. Static keys are secret references, resolved now; without them the SDK's default chain
 * (the Lambda role) is used.
 */
export function storageFor(config: Config, name: string, secrets: SecretResolver): Promise<StorageProvider> {
  const cacheKey = `${config.source}\u0000${name}`;
  let provider = providers.get(cacheKey);
  if (!provider) {
    provider = createProvider(config, name, secrets);
    providers.set(cacheKey, provider);
    provider.catch(() => providers.delete(cacheKey));
  }
  return provider;
}

async function createProvider(config: Config, name: string, secrets: SecretResolver): Promise<StorageProvider> {
  const destination = Object.hasOwn(config.destinations, name) ? config.destinations[name] : undefined;
  if (!destination) throw new ConfigError(`no destination named "${name}" in the config`);
  // Only a config built in code (tests) has one: the config file's schema has no memory type.
  if (isMemoryDestination(destination)) return new MemoryStorage(name, destination, `${config.source}\u0000${name}`);
  switch (destination.type) {
    case 'filesystem':
      return new FilesystemStorage(name, destination);
    case 's3':
    case 'r2': {
      const credentials =
        destination.accessKeyId && destination.secretAccessKey
          ? {
              accessKeyId: await secrets.resolve(destination.accessKeyId, `destinations.${name}.accessKeyId`),
              secretAccessKey: await secrets.resolve(destination.secretAccessKey, `destinations.${name}.secretAccessKey`),
            }
          : undefined;
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
}
