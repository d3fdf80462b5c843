/**
 * Upload: store the dump in each of the target's destinations, then its manifest. The manifest
 * goes last: a backup without one does not exist, so a failure in between publishes nothing.
 */
import type { StoredBackup, UploadInput, UploadResult } from '../contracts.ts';
import { buildManifest, objectMetadata } from '../manifest.ts';
import { manifestKey, withPrefix } from '../naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';

export async function upload(input: UploadInput, runtime: Runtime): Promise<UploadResult> {
  const { plan, dump } = input;
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Upload' });
  const started = runtime.now();
  const stored: StoredBackup[] = [];

  for (const name of plan.destinations) {
    const storage = storageFor(runtime.config, name);
    const destination = runtime.config.destinations[name];
    const key = withPrefix(destination?.prefix, plan.objectKey);
    const metaKey = manifestKey(key);
    const manifest = buildManifest(plan, dump, key, runtime.now());
    log.info('storing', { destination: name, key, size: dump.size });
    await storage.putFile(key, dump.file, { size: dump.size, sha256: dump.sha256, metadata: objectMetadata(manifest) });
    try {
      await storage.putText(metaKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
    } catch (error) {
      // Without its manifest the dump is not a backup; do not leave it looking like one.
      await storage.delete(key).catch(() => undefined);
      throw error;
    }
    stored.push({ destination: name, type: storage.type, location: storage.locate(key), key, manifestKey: metaKey, size: dump.size, sha256: dump.sha256 });
    log.info('stored', { destination: name, key });
  }
  return { stored, durationSeconds: (runtime.now().getTime() - started.getTime()) / 1000 };
}
