/**
 * The backups of a target in a destination, as their manifests describe them. A dump without a
 * manifest is not a backup; a manifest that cannot be read, or describes another key or target,
 * is left out (and so never deleted or restored).
 */
import { text } from 'node:stream/consumers';
import { MANIFEST_FORMAT, type Manifest } from './manifest.ts';
import { MANIFEST_SUFFIX, withPrefix } from './naming.ts';
import type { StorageProvider } from '../storage/types.ts';

export interface Backup {
  key: string;
  manifestKey: string;
  createdAt: Date;
  manifest: Manifest;
}

/** Where a target's backups live in a destination: `<prefix>/<target>/`. */
export function targetPrefix(destinationPrefix: string | undefined, target: string): string {
  return `${withPrefix(destinationPrefix, target)}/`;
}

/** Every backup of the target under the prefix, newest first. */
export async function listBackups(storage: StorageProvider, prefix: string, target: string): Promise<Backup[]> {
  const manifestKeys: string[] = [];
  for await (const object of storage.list(prefix)) {
    if (object.key.endsWith(MANIFEST_SUFFIX)) manifestKeys.push(object.key);
  }
  const backups: Backup[] = [];
  for (const manifestKey of manifestKeys) {
    const manifest = await readManifest(storage, manifestKey);
    if (!manifest || manifest.target !== target || manifest.key !== manifestKey.slice(0, -MANIFEST_SUFFIX.length))
      continue;
    const createdAt = new Date(manifest.createdAt);
    if (Number.isNaN(createdAt.getTime())) continue;
    backups.push({ key: manifest.key, manifestKey, createdAt, manifest });
  }
  return backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

export async function readManifest(storage: StorageProvider, key: string): Promise<Manifest | undefined> {
  const body = await storage.get(key);
  if (!body) return undefined;
  try {
    const manifest = JSON.parse(await text(body)) as Manifest;
    return manifest.format === MANIFEST_FORMAT ? manifest : undefined;
  } catch {
    return undefined;
  }
}
