/**
 * Upload: store the dump in one destination (the Upload map runs this once per destination),
 * then its manifest. The manifest goes last: a backup without one does not exist, so a failure
 * in between publishes nothing. Nothing already stored is ever replaced; a retry of this step
 * that finds its own earlier attempt's dump and manifest there counts them as stored.
 *
 * A streamed dump (lambda and fargate runners) is in its first destination already, manifest and
 * all: there it is only checked; every other destination gets a copy of that object, checked
 * against the dump's size and SHA-256 before it becomes visible, then its own manifest.
 */
import type { StoredBackup, UploadInput } from '../contracts.ts';
import { readManifest } from '../backups/listing.ts';
import { DumpError, ObjectExistsError } from '../errors.ts';
import { buildManifest, objectMetadata, type Manifest } from '../backups/manifest.ts';
import { manifestKey, withPrefix } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import { checkStreamedCopy, copyStreamed } from './streamed-copy.ts';

export async function upload(input: UploadInput, runtime: Runtime): Promise<StoredBackup> {
  const { plan, dump, destination } = input;
  const log = runtime.log.child({
    runId: plan.runId,
    target: plan.target,
    state: 'Upload',
    destination: destination.name,
  });
  const started = runtime.now();
  const storage = await storageFor(runtime.config, destination.name, runtime.secrets);
  const key = withPrefix(runtime.config.destinations[destination.name]?.prefix, plan.objectKey);
  const metaKey = manifestKey(key);
  const manifest = buildManifest(plan, dump, key, runtime.now());
  const stored = (seconds: number): StoredBackup => ({
    status: 'stored',
    destination: destination.name,
    type: storage.type,
    location: storage.locate(key),
    key,
    manifestKey: metaKey,
    size: dump.size,
    sha256: dump.sha256,
    seconds,
  });

  if (dump.kind === 'streamed' && dump.destination === destination.name) {
    await checkStreamedCopy(storage, dump);
    log.info('the dump was streamed here: its object and manifest are in place', { key });
    return stored(0);
  }
  if (dump.kind === 'streamed') {
    log.info('copying from the destination the dump was streamed into', { from: dump.destination, key });
    const source = await storageFor(runtime.config, dump.destination, runtime.secrets);
    const copied = await copyStreamed(source, dump, storage, key, {
      metadata: objectMetadata(manifest),
      onProgress: (progress) => runtime.progress({ state: 'Upload', item: destination.name, ...progress }),
    });
    log.info('copied', { key, method: copied.method, checked: copied.checked });
  } else if (dump.kind === 'server-written') {
    // The server wrote this object itself (CheckRdsBackup measured and hashed it): only its manifest is missing.
    if (dump.task.destination !== destination.name)
      throw new DumpError(
        `the server wrote the backup of ${plan.target} into ${dump.task.destination}, not ${destination.name}`,
      );
    log.info('describing the object the server wrote', { key });
  } else {
    log.info('storing', { key, size: dump.size });
    await storage.putFile(key, dump.file, {
      size: dump.size,
      sha256: dump.sha256,
      metadata: objectMetadata(manifest),
      onProgress: (progress) => runtime.progress({ state: 'Upload', item: destination.name, ...progress }),
    });
  }
  try {
    await storage.putText(metaKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  } catch (error) {
    if (error instanceof ObjectExistsError) {
      // An earlier attempt of this run wrote its manifest (with its own storedAt) and then failed.
      if (isSameRun(await readManifest(storage, metaKey), manifest)) {
        log.info('the manifest of an earlier attempt of this run is already stored', { key: metaKey });
      } else {
        throw error; // someone else's manifest: not ours to replace, nor to delete under
      }
    } else {
      // Without its manifest the dump is not a backup; do not leave it looking like one.
      if (dump.kind !== 'server-written') await storage.delete(key).catch(() => undefined);
      throw error;
    }
  }
  const seconds = (runtime.now().getTime() - started.getTime()) / 1000;
  log.info('stored', { key, seconds });
  return stored(seconds);
}

function isSameRun(stored: Manifest | undefined, ours: Manifest): boolean {
  return (
    stored?.executionId === ours.executionId &&
    stored.key === ours.key &&
    stored.size === ours.size &&
    stored.sha256 === ours.sha256
  );
}
