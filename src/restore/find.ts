/** Which backup to restore: the newest, or the one named by its key, from a destination. */
import { listBackups, targetPrefix, type Backup } from '../backups/listing.ts';
import type { Config, Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { MANIFEST_SUFFIX } from '../backups/naming.ts';
import { storageFor } from '../storage/registry.ts';
import type { StorageProvider } from '../storage/types.ts';

export interface FoundBackup {
  destination: string;
  storage: StorageProvider;
  backup: Backup;
}

export async function findBackup(
  config: Config,
  target: Target,
  secrets: SecretResolver,
  options: { backup: string; from?: string },
): Promise<FoundBackup> {
  const destinations = options.from ? [options.from] : target.destinations;
  if (options.from && !target.destinations.includes(options.from)) {
    throw new ConfigError(
      `--from ${options.from}: target ${target.name} stores into ${target.destinations.join(', ')}`,
    );
  }
  const looked: string[] = [];
  for (const name of destinations) {
    const storage = await storageFor(config, name, secrets);
    const prefix = targetPrefix(config.destinations[name]?.prefix, target.name);
    const backups = await listBackups(storage, prefix, target.name);
    looked.push(`${name} (${storage.locate(prefix)}: ${backups.length} backups)`);
    if (backups.length === 0) continue;
    if (options.backup === 'latest') return { destination: name, storage, backup: backups[0]! };
    const wanted = options.backup.endsWith(MANIFEST_SUFFIX)
      ? options.backup.slice(0, -MANIFEST_SUFFIX.length)
      : options.backup;
    const found = backups.find((b) => b.key === wanted || b.key.endsWith(`/${wanted}`));
    if (found) return { destination: name, storage, backup: found };
    if (options.from) {
      throw new ConfigError(
        `no backup ${options.backup} of ${target.name} in ${name}; the newest are: ${backups
          .slice(0, 5)
          .map((b) => b.key)
          .join(', ')} (stepvault list shows all)`,
      );
    }
  }
  if (options.backup === 'latest')
    throw new ConfigError(`no backups of ${target.name} found: looked in ${looked.join('; ')}`);
  throw new ConfigError(
    `no backup ${options.backup} of ${target.name}: looked in ${looked.join('; ')}; stepvault list --target ${target.name} shows what there is`,
  );
}
