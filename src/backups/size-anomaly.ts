/**
 * A backup that succeeded but is much smaller or larger than the one before it is a warning: a
 * dropped table, the wrong database or a half-empty replica shrinks a dump without failing any
 * step; a runaway log table swells it. Verify compares the dump with the target's previous backup
 * (its manifest in the first destination stored into) when `alerts.sizeChangePercent` asks.
 */
import type { StorageProvider } from '../storage/types.ts';
import { listBackups, targetPrefix } from './listing.ts';
import type { Manifest } from './manifest.ts';

export interface SizeAnomaly {
  direction: 'smaller' | 'larger';
  /** How far from the previous size, in percent of it (always positive), rounded to one decimal. */
  changePercent: number;
  thresholdPercent: number;
  size: number;
  previousSize: number;
  previousKey: string;
  previousCreatedAt: string;
  /** Set when the two were compressed differently: the size change may be the compression's. */
  previousCompression?: string;
}

/** The anomaly of `size` against the previous backup's manifest, past `thresholdPercent` either way; else undefined. */
export function sizeAnomaly(
  current: { size: number; compression: string },
  previous: Pick<Manifest, 'size' | 'key' | 'createdAt' | 'compression'>,
  thresholdPercent: number,
): SizeAnomaly | undefined {
  // An empty previous dump cannot be a base for a percentage; any dump after it is "larger".
  const changePercent =
    previous.size === 0
      ? current.size === 0
        ? 0
        : Number.POSITIVE_INFINITY
      : (Math.abs(current.size - previous.size) / previous.size) * 100;
  if (changePercent < thresholdPercent) return undefined;
  return {
    direction: current.size < previous.size ? 'smaller' : 'larger',
    changePercent: Number.isFinite(changePercent) ? Math.round(changePercent * 10) / 10 : changePercent,
    thresholdPercent,
    size: current.size,
    previousSize: previous.size,
    previousKey: previous.key,
    previousCreatedAt: previous.createdAt,
    ...(previous.compression !== current.compression && { previousCompression: previous.compression }),
  };
}

/** The target's newest backup in a destination other than `currentKey`, older than it; undefined for a first backup. */
export async function previousBackup(
  storage: StorageProvider,
  destinationPrefix: string | undefined,
  target: string,
  current: { key: string; createdAt: string },
): Promise<Manifest | undefined> {
  const backups = await listBackups(storage, targetPrefix(destinationPrefix, target), target);
  const createdAt = Date.parse(current.createdAt);
  return backups.find((b) => b.key !== current.key && b.createdAt.getTime() <= createdAt)?.manifest;
}

/** How the mail and the log say it: "63.2% smaller than the previous backup (…)". */
export function describeSizeAnomaly(anomaly: SizeAnomaly, format: (bytes: number) => string): string {
  const change = Number.isFinite(anomaly.changePercent) ? `${anomaly.changePercent}%` : 'infinitely';
  const compression = anomaly.previousCompression
    ? `; the previous one was compressed with ${anomaly.previousCompression}, which may explain it`
    : '';
  return `${change} ${anomaly.direction} than the previous backup (${format(anomaly.size)} against ${format(anomaly.previousSize)} on ${anomaly.previousCreatedAt}; alerts.sizeChangePercent is ${anomaly.thresholdPercent})${compression}`;
}
