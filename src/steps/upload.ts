/**
 * Upload: store the dump in one destination (the Upload map runs this once per destination),
 * then its manifest. The manifest goes last: a backup without one does not exist, so a failure
 * in between publishes nothing.
 */
import type { StoredBackup, UploadInput } from '../contracts.ts';
import { buildManifest, objectMetadata } from '../manifest.ts';
import { manifestKey, withPrefix } from '../naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';

export async function upload(input: UploadInput, runtime: Runtime): Promise<StoredBackup> {
  const { plan, dump, destination } = input;
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Upload', destination: destination.name });
  const started = runtime.now();
  const storage = await storageFor(runtime.config, destination.name, runtime.secrets);
  const key = withPrefix(runtime.config.destinations[destination.name]?.prefix, plan.objectKey);
  const metaKey = manifestKey(key);
  const manifest = buildManifest(plan, dump, key, runtime.now());

  if (dump.rds?.destination === destination.name) {
    // RDS wrote this object itself (CheckRdsBackup measured and hashed it): only its manifest is missing.
    log.info('describing the object RDS wrote', { key });
  } else {
    log.info('storing', { key, size: dump.size });
    await storage.putFile(key, dump.file, { size: dump.size, sha256: dump.sha256, metadata: objectMetadata(manifest) });
  }
  try {
    await storage.putText(metaKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  } catch (error) {
    // Without its manifest the dump is not a backup; do not leave it looking like one.
    if (!dump.rds) await storage.delete(key).catch(() => undefined);
    throw error;
  }
  const seconds = (runtime.now().getTime() - started.getTime()) / 1000;
  log.info('stored', { key, seconds });
  return {
    status: 'stored',
    destination: destination.name,
    type: storage.type,
    location: storage.locate(key),
    key,
    manifestKey: metaKey,
    size: dump.size,
    sha256: dump.sha256,
    seconds,
  };
}
