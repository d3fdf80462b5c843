import type { Config } from '../config/load.ts';
import { CredentialCache } from '../config/credential-cache.ts';
import { destinationSecrets, type SecretOption } from '../config/destination-secrets.ts';
import type { DestinationConfig } from '../config/schema.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { FilesystemStorage } from './filesystem.ts';
import { isMemoryDestination, MemoryStorage } from './memory.ts';
import type { StorageProvider } from './types.ts';

/**
 * One provider per destination, built from the credentials it was given: clients are made once
 * and kept while the destination's secrets keep their values, and made anew when one rotates.
 */
const providers = new CredentialCache<StorageProvider>();

type Resolved = Partial<Record<SecretOption, string>>;

/**
 * The provider for a named destination. Adding a provider: a file beside this one, a case
 * here, and its secret options in config/destination-secrets.ts. Secret options are resolved
 * now (by this invocation's resolver, so a rotated key is seen); an S3 destination without
 * static keys uses the SDK's default chain (the Lambda role).
 */
export async function storageFor(config: Config, name: string, secrets: SecretResolver): Promise<StorageProvider> {
  const destination = Object.hasOwn(config.destinations, name) ? config.destinations[name] : undefined;
  if (!destination) throw new ConfigError(`no destination named "${name}" in the config`);
  const resolved = await resolveSecrets(destination, name, secrets);
  // The destination's settings hold references, not values: they may sit in the fingerprint.
  const builtFrom = [JSON.stringify(destination), ...Object.values(resolved)];
  const slot = `${config.source}\u0000${name}`;
  return providers.get(slot, builtFrom, async () => createProvider(config, name, destination, resolved));
}

/** The values of the destination's secret options, by option. */
async function resolveSecrets(
  destination: DestinationConfig,
  name: string,
  secrets: SecretResolver,
): Promise<Resolved> {
  if (isMemoryDestination(destination)) return {};
  const resolved: Resolved = {};
  for (const secret of destinationSecrets(name, destination))
    resolved[secret.option] = await secrets.resolve(secret.reference, secret.where);
  return resolved;
}

/**
 * Each provider's module (and its SDK) is loaded when a destination of its type is first used: a
 * run into a folder does not load the S3 client, which was a tenth of a small run's start.
 */
async function createProvider(
  config: Config,
  name: string,
  destination: DestinationConfig,
  resolved: Resolved,
): Promise<StorageProvider> {
  // Only a config built in code (tests) has one: the config file's schema has no memory type.
  if (isMemoryDestination(destination)) return new MemoryStorage(name, destination, `${config.source}\u0000${name}`);
  switch (destination.type) {
    case 'filesystem':
      return new FilesystemStorage(name, destination);
    case 'dropbox': {
      const { appKey, appSecret, refreshToken } = resolved;
      if (!appKey || !appSecret || !refreshToken)
        throw new ConfigError(`destinations.${name}: its credentials did not resolve`);
      const [{ DropboxClient }, { DropboxStorage }] = await Promise.all([
        import('./dropbox/client.ts'),
        import('./dropbox.ts'),
      ]);
      const client = new DropboxClient({
        credentials: { appKey, appSecret, refreshToken },
        ...(destination.endpoint && { endpoint: destination.endpoint }),
      });
      return new DropboxStorage(name, destination, client);
    }
    case 'gdrive': {
      const { serviceAccountKey, clientId, clientSecret, refreshToken } = resolved;
      const credentials = serviceAccountKey
        ? { serviceAccountKey }
        : clientId && clientSecret && refreshToken
          ? { clientId, clientSecret, refreshToken }
          : undefined;
      if (!credentials) throw new ConfigError(`destinations.${name}: its credentials did not resolve`);
      const [{ GdriveClient }, { GdriveStorage }] = await Promise.all([
        import('./gdrive/client.ts'),
        import('./gdrive.ts'),
      ]);
      const client = new GdriveClient({ credentials, ...(destination.endpoint && { endpoint: destination.endpoint }) });
      return new GdriveStorage(name, destination, client);
    }
    case 's3':
    case 'r2':
    case 'supabase': {
      const { accessKeyId, secretAccessKey } = resolved;
      const [{ S3Storage }, { s3Profile }] = await Promise.all([import('./s3.ts'), import('./s3-profile.ts')]);
      return new S3Storage({
        name,
        type: destination.type,
        profile: s3Profile(name, destination),
        ...(accessKeyId && secretAccessKey && { credentials: { accessKeyId, secretAccessKey } }),
        ...(destination.partSizeMB && { partSizeMB: destination.partSizeMB }),
        ...(destination.concurrency && { concurrency: destination.concurrency }),
      });
    }
  }
}

/** The provider cache's keys: destinations and fingerprints, never a secret's value. */
export function storageCacheKeys(): string[] {
  return providers.keys();
}
