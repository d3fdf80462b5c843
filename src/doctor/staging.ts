/**
 * The staging folder takes a file and has room for a dump as large as the last one (its size in
 * the newest manifest of any destination; unknown before the first backup). Whatever doctor
 * created to find out (the folder itself, the probe file) is removed again.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listBackups, targetPrefix } from '../backups/listing.ts';
import { serverWrites } from '../engines/registry.ts';
import { refusePseudoFilesystem } from '../storage/pseudo-filesystem.ts';
import { storageFor } from '../storage/registry.ts';
import { formatBytes } from '../text/format.ts';
import type { Check, CheckResult, DoctorContext } from './types.ts';
import { fail, ok, skip } from './types.ts';

export const stagingCheck: Check = {
  id: 'staging',
  name: 'staging',
  async run(context) {
    const { target } = context;
    if (target.runner === 'lambda')
      return [skip('staging', 'runner lambda streams the dump into the first destination; nothing is staged')];
    if (serverWrites(target)) return [skip('staging', 'the server writes the backup into its destination itself')];
    const folder = target.staging;
    const setting = `targets.${target.name}.staging`;
    let created: string | undefined;
    try {
      await refusePseudoFilesystem(folder, setting);
      created = await mkdir(folder, { recursive: true });
      const probe = path.join(folder, `.doctor-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, 'stepvault doctor\n', { mode: 0o600 });
      await rm(probe, { force: true });
    } catch (error) {
      return [
        fail(
          'staging',
          `${folder} is not writable: ${(error as Error).message}`,
          `make ${folder} a writable folder, or set ${setting} (defaults.staging) to one`,
        ),
      ];
    } finally {
      if (created) await rm(created, { recursive: true, force: true });
    }
    return [judgeRoom(folder, setting, await freeBytes(folder), await lastDumpSize(context))];
  },
};

/** Room enough for a dump as large as the last one; unknown before the first backup. */
export function judgeRoom(folder: string, setting: string, free: number, last: number | undefined): CheckResult {
  if (last === undefined)
    return ok('staging', `${folder} is writable; ${formatBytes(free)} free; last dump size unknown (no manifest yet)`);
  if (free < last) {
    return fail(
      'staging',
      `${folder} has ${formatBytes(free)} free, less than the last dump (${formatBytes(last)})`,
      `free space there, or set ${setting} to a larger disk`,
    );
  }
  return ok('staging', `${folder} is writable; ${formatBytes(free)} free, last dump ${formatBytes(last)}`);
}

/** Free bytes where the folder is, or where it would be created. */
async function freeBytes(folder: string): Promise<number> {
  for (let dir = path.resolve(folder); ; dir = path.dirname(dir)) {
    try {
      const stats = await statfs(dir);
      return stats.bavail * stats.bsize;
    } catch (error) {
      if (dir === path.dirname(dir)) throw error;
    }
  }
}

/** The size in the newest manifest of the target's destinations; undefined when none has one or none answers. */
async function lastDumpSize({ config, target, secrets }: DoctorContext): Promise<number | undefined> {
  for (const name of target.destinations) {
    try {
      const storage = await storageFor(config, name, secrets);
      const [latest] = await listBackups(
        storage,
        targetPrefix(config.destinations[name]?.prefix, target.name),
        target.name,
      );
      if (latest) return latest.manifest.size;
    } catch {
      // The destination's own line says what is wrong with it.
    }
  }
  return undefined;
}
