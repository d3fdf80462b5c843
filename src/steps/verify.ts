/**
 * Verify: check what landed in each destination against what was dumped — the object is there
 * with the dump's size, and its manifest reads back with the dump's size and SHA-256; with
 * `verify.download`, the object itself is downloaded and hashed. With `verify.drill`, the staged
 * dump is restored into a scratch database and its rows compared with the dump's (see drill.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readManifest } from '../backups/listing.ts';
import { describeSizeAnomaly, previousBackup, type SizeAnomaly, sizeAnomaly } from '../backups/size-anomaly.ts';
import { getTarget } from '../config/load.ts';
import type { VerifyInput, VerifyResult } from '../contracts.ts';
import { ChecksumMismatchError, ConfigError } from '../errors.ts';
import { downloadVerified } from '../restore/download.ts';
import { restoreDrill } from '../restore/drill.ts';
import { parseDatabaseUrl } from '../restore/url.ts';
import type { Runtime } from '../runtime.ts';
import { storageFor } from '../storage/registry.ts';
import { formatBytes } from '../text/format.ts';
import { createReadStream } from 'node:fs';

export async function verify(input: VerifyInput, runtime: Runtime): Promise<VerifyResult> {
  const { plan, dump } = input;
  const target = getTarget(runtime.config, plan.target);
  const log = runtime.log.child({ runId: plan.runId, target: plan.target, state: 'Verify' });
  const result: VerifyResult = { destinations: [] };

  for (const outcome of input.upload) {
    if (outcome.status !== 'stored') continue;
    const storage = await storageFor(runtime.config, outcome.destination, runtime.secrets);
    const head = await storage.head(outcome.key);
    const manifest = await readManifest(storage, outcome.manifestKey);
    const problem = !head
      ? 'the dump is missing'
      : head.size !== dump.size
        ? `the dump has ${head.size} bytes, ${dump.size} were dumped`
        : !manifest
          ? 'the manifest is missing or unreadable'
          : manifest.sha256 !== dump.sha256 || manifest.size !== dump.size
            ? 'the manifest does not describe this dump'
            : undefined;
    if (problem) throw new ChecksumMismatchError(`verify ${outcome.destination} (${outcome.location}): ${problem}`);
    if (target.verify?.download && manifest) {
      const work = await mkdtemp(path.join(tmpdir(), 'stepvault-verify-'));
      try {
        await downloadVerified(
          storage,
          { key: outcome.key, manifestKey: outcome.manifestKey, createdAt: new Date(manifest.createdAt), manifest },
          path.join(work, 'dump'),
        );
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    result.destinations.push({
      destination: outcome.destination,
      checked: target.verify?.download ? 'download' : 'manifest',
    });
    log.info('verified', {
      destination: outcome.destination,
      checked: target.verify?.download ? 'download' : 'manifest',
    });
  }

  const anomaly = await compareWithPrevious(input, runtime, log);
  if (anomaly) result.sizeAnomaly = anomaly;

  const drill = target.verify?.drill;
  if (drill && dump.layout?.kind === 'server') {
    // Each database's dump was read end to end by its archive check as it was written; the drill
    // restores one database's backup, and a server's would need a scratch server of its own.
    result.drillSkipped = `a whole-server backup (targets.${target.name}.databases): the drill restores single-database backups only; each database's dump was checked as it was written`;
    log.warn('restore drill skipped', { reason: result.drillSkipped });
  } else if (drill) {
    // The schema allows a drill only where the dump passes through staging.
    if (dump.kind !== 'staged')
      throw new ConfigError(
        `targets.${target.name}.verify.drill: the backup was ${dump.kind === 'streamed' ? 'streamed into its destination' : 'written by the server'}, not staged; there is nothing to restore from`,
      );
    const scratch = parseDatabaseUrl(drill.into);
    const password = drill.password
      ? await runtime.secrets.resolve(drill.password, `targets.${target.name}.verify.drill.password`)
      : scratch.password;
    const encryption = dump.encryption;
    if (encryption && drill.identity === undefined) {
      result.drillSkipped = `the backup is encrypted and targets.${target.name}.verify.drill.identity gives no identity to open it`;
      log.warn('restore drill skipped', { reason: result.drillSkipped });
      return result;
    }
    const identity = encryption
      ? await runtime.secrets.resolve(drill.identity!, `targets.${target.name}.verify.drill.identity`)
      : undefined;
    const outcome = await restoreDrill(
      dump,
      dump.file,
      { ...scratch, ...(password !== undefined && { password }) },
      plan.runId,
      async (file) => {
        if (!encryption) return file;
        // The age library is loaded only for an encrypted backup's drill.
        const { openEncrypted } = await import('../encryption/identity.ts');
        return openEncrypted(createReadStream(file), identity!, encryption, path.basename(file));
      },
    );
    result.drill = outcome;
    log.info('restore drill passed', { ...outcome });
  }
  return result;
}

/**
 * With alerts.sizeChangePercent, the dump against the target's previous backup in the first destination stored into.
 * A warning, never a failure: a listing that fails leaves the backup good and says so in the log.
 */
async function compareWithPrevious(
  { plan, dump, upload }: VerifyInput,
  runtime: Runtime,
  log: Runtime['log'],
): Promise<SizeAnomaly | undefined> {
  const threshold = getTarget(runtime.config, plan.target).alerts?.sizeChangePercent;
  const stored = upload.find((o) => o.status === 'stored');
  if (threshold === undefined || !stored) return undefined;
  try {
    const storage = await storageFor(runtime.config, stored.destination, runtime.secrets);
    const previous = await previousBackup(
      storage,
      runtime.config.destinations[stored.destination]?.prefix,
      plan.target,
      {
        key: stored.key,
        createdAt: plan.startedAt,
      },
    );
    if (!previous) {
      log.info('no previous backup to compare the size with', { destination: stored.destination });
      return undefined;
    }
    const anomaly = sizeAnomaly(dump, previous, threshold);
    if (anomaly) log.warn(`size anomaly: ${describeSizeAnomaly(anomaly, formatBytes)}`, { ...anomaly });
    return anomaly;
  } catch (error) {
    log.warn('the size could not be compared with the previous backup', {
      destination: stored.destination,
      error: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
}
