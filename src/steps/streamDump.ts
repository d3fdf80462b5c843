/**
 * StreamDump (the lambda runner): run the engine's dump tool and stream its output straight into
 * the first destination, nothing staged. The bytes are counted and hashed as they pass, the
 * archive check reads a copy of them, and the object becomes visible only once the dump has been
 * judged whole; then its manifest is published beside it, last, as Upload does. Upload copies
 * both from there to every other destination.
 */
import { getTarget } from '../config/load.ts';
import type { PlanResult, StreamedDump } from '../contracts.ts';
import { dumperFor } from '../dumpers/registry.ts';
import { ConfigError, ObjectExistsError, StepvaultError, StorageError } from '../errors.ts';
import { buildManifest } from '../backups/manifest.ts';
import { manifestKey, withPrefix } from '../backups/naming.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import { earlierAttempt, streamDestination, streamMetadata } from './streamed-dump.ts';
import { connectTarget } from './target-connection.ts';
import { encryptionKeys } from '../encryption/keys.ts';

export async function streamDump(plan: PlanResult, runtime: Runtime): Promise<StreamedDump> {
  const target = getTarget(runtime.config, plan.target);
  const dumper = dumperFor(target);
  if (dumper.writes !== 'staging' || !dumper.dumpInto)
    throw new ConfigError(
      `targets.${target.name}: engine ${target.engine} cannot stream its dump into a destination (the server writes a backup file itself); set runner: efs`,
    );
  const destination = streamDestination(plan).name;
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'StreamDump', destination });
  const storage = await storageFor(runtime.config, destination, runtime.secrets);
  const key = withPrefix(runtime.config.destinations[destination]?.prefix, plan.objectKey);
  const where = { destination, key, manifestKey: manifestKey(key) };

  const earlier = await earlierAttempt(storage, plan, where);
  if (earlier.published) {
    log.info('an earlier attempt of this run published the dump already', { key });
    return earlier.published;
  }
  if (earlier.removed) log.warn('removed the dump an earlier attempt left without its manifest', { key });

  const { target: connected, password } = await connectTarget(target, runtime.secrets);
  const encryption = await encryptionKeys(target, runtime.secrets);
  const started = runtime.now();
  log.info('dump started', { engine: target.engine, host: connected.host, database: connected.database, key });
  const output = await dumper.dumpInto({
    target: connected,
    ...(password !== undefined && { password }),
    ...(encryption && { encryption }),
    onProgress: (progress) => runtime.progress({ state: 'StreamDump', ...progress }),
    onWarning: (message) => log.warn(message),
    sink: (body, beforeCommit) =>
      storage.putStream(key, body, { metadata: streamMetadata(plan), beforeCommit }).catch((error: unknown) => {
        throw destinationFailure(error, storage.locate(key), destination);
      }),
  });
  const finished = runtime.now();
  const result: StreamedDump = {
    kind: 'streamed',
    ...where,
    size: output.size,
    sha256: output.sha256,
    compression: output.compression,
    ...(output.compressionLevel !== undefined && { compressionLevel: output.compressionLevel }),
    tool: output.tool,
    serverVersion: output.serverVersion,
    ...(output.rowCounts && { rowCounts: output.rowCounts }),
    ...(output.layout && { layout: output.layout }),
    ...(output.encryption && { encryption: output.encryption }),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
  };
  const manifest = buildManifest(plan, result, key, runtime.now());
  try {
    await storage.putText(where.manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
  } catch (error) {
    // Without its manifest the dump is not a backup; do not leave it looking like one. A manifest
    // someone else put there is theirs, and so is the key it names.
    if (!(error instanceof ObjectExistsError)) await storage.delete(key).catch(() => undefined);
    throw error;
  }
  log.info('dump streamed and published', {
    key,
    size: result.size,
    sha256: result.sha256,
    seconds: result.durationSeconds,
  });
  return result;
}

/**
 * The errors of the dump and of its check are named already (DumpError, ConnectionError…) and pass
 * as they are. An unnamed one is the store's: a part the server refused can reach the caller as
 * the stream's own error, since the failing upload tears the whole stream down. It is named a
 * StorageError (retried), with the destination it came from.
 */
function destinationFailure(error: unknown, location: string, destination: string): unknown {
  if (error instanceof StepvaultError) return error;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new StorageError(`destination ${destination} (${location}): cannot store the dump: ${message}`, {
    cause: error,
  });
}
