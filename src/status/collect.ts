/**
 * The status of every target, from what is stored: the manifests in its destinations (what
 * `stepvault list` reads, with the caller's credentials) and the journal of local runs (failures
 * and drills, which no manifest records). Reads only: nothing is written, deleted or started.
 */
import { listBackups, targetPrefix, type Backup } from '../backups/listing.ts';
import { applyRetention } from '../backups/retention.ts';
import { describeSizeAnomaly, sizeAnomaly } from '../backups/size-anomaly.ts';
import type { Config, Target } from '../config/load.ts';
import type { RetentionPolicy } from '../config/schema.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { formatRun, nextRuns } from '../doctor/next-runs.ts';
import { engineInfo } from '../engines/registry.ts';
import { redact } from '../redact.ts';
import { storageFor } from '../storage/registry.ts';
import { formatBytes } from '../text/format.ts';
import type { DestinationStatus, StatusReport, StoredCopy, TargetStatus } from './model.ts';
import { journalFile, readRuns, type JournalEntry } from './run-journal.ts';
import { targetState } from './state.ts';

/** Points in the size chart: enough to see a trend, few enough to read at phone width. */
export const CHART_POINTS = 30;
/** A newest backup this much smaller or larger than the one before is flagged (else alerts.sizeChangePercent). */
const DEFAULT_SIZE_CHANGE_PERCENT = 50;

export async function collectStatus(config: Config, secrets: SecretResolver, now: Date): Promise<StatusReport> {
  const targets: TargetStatus[] = [];
  for (const target of Object.values(config.targets)) targets.push(await collectTarget(config, target, secrets, now));
  return { generatedAt: now.toISOString(), source: config.source, targets };
}

async function collectTarget(
  config: Config,
  target: Target,
  secrets: SecretResolver,
  now: Date,
): Promise<TargetStatus> {
  const copies = new Map<string, StoredCopy>();
  const destinations: DestinationStatus[] = [];
  for (const name of target.destinations) {
    const destination = config.destinations[name];
    const policy = describePolicy(target.retention);
    try {
      const storage = await storageFor(config, name, secrets);
      const backups = await listBackups(storage, targetPrefix(destination?.prefix, target.name), target.name);
      const kept = applyRetention(backups, target.retention, target.timezone, now).keep.length;
      destinations.push({ name, type: destination?.type ?? '?', backups: backups.length, policy, keeps: kept });
      for (const backup of backups) addCopy(copies, backup, name, config, target);
    } catch (error) {
      destinations.push({
        name,
        type: destination?.type ?? '?',
        backups: 0,
        policy,
        keeps: 0,
        error: redact(`${(error as Error).name}: ${(error as Error).message}`),
      });
    }
  }
  const backups = [...copies.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const runs = await readRuns(journalFile(target.staging), target.name);
  const failure = runs.findLast((r) => r.status !== 'SUCCEEDED');
  const drill = runs.findLast((r) => r.drill || r.drillSkipped);
  const newest = backups[0];
  const lastSuccess = newest ? new Date(newest.createdAt) : undefined;
  const { state, reason } = targetState({
    target: target.name,
    ...(target.schedule && { schedule: target.schedule }),
    ...(lastSuccess && { lastSuccess }),
    ...(failure && { lastFailure: new Date(failure.finishedAt) }),
    now,
  });
  const sizes = backups
    .slice(0, CHART_POINTS)
    .reverse()
    .map((b) => ({ at: b.createdAt, size: b.size }));
  const warning = sizeWarning(backups, target);
  return {
    name: target.name,
    engine: target.engine,
    ...(target.database && { database: target.database }),
    state,
    reason,
    ...(lastSuccess && {
      lastSuccess: { at: lastSuccess.toISOString(), ageSeconds: (now.getTime() - lastSuccess.getTime()) / 1000 },
    }),
    ...(failure && { lastFailure: describeFailure(failure) }),
    ...(drill && { lastDrill: describeDrill(drill) }),
    ...scheduleOf(target, now),
    sizes,
    ...(warning && { sizeWarning: warning }),
    destinations,
    backups,
  };
}

function addCopy(copies: Map<string, StoredCopy>, backup: Backup, destination: string, config: Config, target: Target) {
  const m = backup.manifest;
  const copy = { destination, key: m.key, restoreCommand: restoreCommand(config, target, m.key, destination) };
  const seen = copies.get(m.runId);
  if (seen) seen.copies.push(copy);
  else
    copies.set(m.runId, {
      runId: m.runId,
      createdAt: backup.createdAt.toISOString(),
      size: m.size,
      sha256: m.sha256,
      copies: [copy],
    });
}

/** The command that restores a backup; the server to restore into is the reader's to fill in. */
function restoreCommand(config: Config, target: Target, key: string, destination: string): string {
  const scheme = engineInfo(target.engine).urlSchemes[0] ?? target.engine;
  const configArg = config.source === 'embedded' ? '' : ` --config ${shellWord(config.source)}`;
  return `stepvault restore${configArg} --target ${target.name} --backup ${shellWord(key)} --from ${destination} --into ${scheme}://USER@HOST/NEW_DATABASE`;
}

function shellWord(text: string): string {
  return /^[\w./:@=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function sizeWarning(backups: StoredCopy[], target: Target): string | undefined {
  const [newest, previous] = backups;
  if (!newest || !previous) return undefined;
  const threshold = target.alerts?.sizeChangePercent ?? DEFAULT_SIZE_CHANGE_PERCENT;
  const anomaly = sizeAnomaly(
    { size: newest.size, compression: '' },
    { size: previous.size, key: previous.copies[0]!.key, createdAt: previous.createdAt, compression: '' },
    threshold,
  );
  return anomaly && describeSizeAnomaly(anomaly, formatBytes).replace('alerts.sizeChangePercent is', 'flagged from');
}

function describeFailure(entry: JournalEntry): NonNullable<TargetStatus['lastFailure']> {
  return {
    at: entry.finishedAt,
    ...(entry.failedState && { where: entry.failedState }),
    ...(entry.error && { error: entry.error }),
    ...(entry.cause && { cause: entry.cause }),
  };
}

function describeDrill(entry: JournalEntry): NonNullable<TargetStatus['lastDrill']> {
  const outcome = entry.drill
    ? `passed: ${entry.drill.tables} tables, ${entry.drill.rows} rows in ${entry.drill.seconds.toFixed(1)}s`
    : `skipped: ${entry.drillSkipped}`;
  return { at: entry.finishedAt, outcome };
}

function scheduleOf(target: Target, now: Date): Pick<TargetStatus, 'schedule' | 'nextRun'> {
  const schedule = target.schedule;
  if (!schedule) return {};
  const timezone = schedule.timezone ?? target.timezone;
  const disabled = schedule.enabled === false ? ' (disabled)' : '';
  if (schedule.rate !== undefined) return { schedule: `every ${schedule.rate.trim()}${disabled}` };
  const [next] = schedule.enabled === false ? [] : nextRuns(schedule.cron!, timezone, now, 1);
  return {
    schedule: `cron(${schedule.cron!.trim()}) ${timezone}${disabled}`,
    ...(next && { nextRun: formatRun(next, timezone) }),
  };
}

export function describePolicy(policy: RetentionPolicy): string {
  const parts = Object.entries(policy)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v}`);
  return parts.join(', ');
}
