import type { Config } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { FilesystemStorage } from './filesystem.ts';
import type { StorageProvider } from './types.ts';

/** The provider for a named destination. Adding a provider: a file beside this one and a case here. */
export function storageFor(config: Config, name: string): StorageProvider {
  const destination = Object.hasOwn(config.destinations, name) ? config.destinations[name] : undefined;
  if (!destination) throw new ConfigError(`no destination named "${name}" in the config`);
  switch (destination.type) {
    case 'filesystem':
      return new FilesystemStorage(name, destination);
  }
}
