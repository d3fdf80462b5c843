/**
 * Kernel pseudo-filesystems (/proc, /sys, cgroup, ...) hold no backups, and Node's recursive
 * mkdir loops forever under /proc (mkdir answers ENOENT for any new name, so it climbs up and
 * retries without end). A destination there is refused before anything is created.
 */
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';

/** statfs(2) f_type values of Linux's pseudo-filesystems. */
const PSEUDO_TYPES = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
  [0x1cd1, 'devpts'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
]);

const PSEUDO_ROOTS = ['/proc', '/sys'];

export async function refusePseudoFilesystem(folder: string, setting: string): Promise<void> {
  const resolved = path.resolve(folder);
  const byName = PSEUDO_ROOTS.find((root) => resolved === root || resolved.startsWith(`${root}/`));
  // The nearest folder that exists says which filesystem the new ones would be made on.
  const existing = await nearestExisting(resolved);
  const byType = existing ? PSEUDO_TYPES.get(Number((await statfs(existing).catch(() => undefined))?.type)) : undefined;
  if (byName || byType) {
    throw new ConfigError(
      `${setting}: ${folder} is on ${byType ?? byName} (a kernel pseudo-filesystem), which cannot hold backups; choose a folder on a disk or share`,
    );
  }
}

async function nearestExisting(folder: string): Promise<string | undefined> {
  for (let current = folder; ; current = path.dirname(current)) {
    if (
      await stat(current).then(
        () => true,
        () => false,
      )
    )
      return current;
    if (path.dirname(current) === current) return undefined;
  }
}
