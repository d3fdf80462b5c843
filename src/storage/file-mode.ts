/**
 * Permissions of what a filesystem destination writes. Backups hold whole databases: by default
 * only their owner reads them (files 0600 in folders 0700). A share that a group must read sets
 * `mode: "0640"`; its folders get the matching search bit (0750).
 */
import { ConfigError } from '../errors.ts';

export const DEFAULT_FILE_MODE = 0o600;

/** Owner reads and writes; group and others get nothing, read, or read-write; nobody executes. */
const FILE_MODE = /^0?6[046][046]$/;

export function isValidFileMode(mode: string): boolean {
  return FILE_MODE.test(mode);
}

export function parseFileMode(mode: string | undefined): number {
  if (mode === undefined) return DEFAULT_FILE_MODE;
  if (!isValidFileMode(mode))
    throw new ConfigError(`file mode "${mode}" is not one stepvault writes; use an octal string like "0600" or "0640"`);
  return Number.parseInt(mode, 8);
}

/** A folder's mode for files of `fileMode`: whoever may read the files may also enter the folder. */
export function folderMode(fileMode: number): number {
  let mode = fileMode;
  for (const [read, search] of [
    [0o400, 0o100],
    [0o040, 0o010],
    [0o004, 0o001],
  ] as const) {
    if (fileMode & read) mode |= search;
  }
  return mode;
}
