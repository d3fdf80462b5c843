/**
 * What `stepvault doctor` answers, one line per check: will tonight's backup of a target work?
 * A check says ok, fail (with what to do) or skip (with why it could not be asked).
 */
import type { Config, Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import type { TargetConnection } from '../steps/target-connection.ts';

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a failure: a config key to set, a statement to run. */
  fix?: string;
}

/** What the checks learn as they go, for the checks after them. */
export interface DoctorFacts {
  connection?: TargetConnection;
  /** The server's version as it reports it, e.g. "15.20" or "10.11.19-MariaDB". */
  serverVersion?: string;
}

export interface DoctorContext {
  config: Config;
  target: Target;
  secrets: SecretResolver;
  facts: DoctorFacts;
  /** How long a network probe may wait, in ms. */
  timeoutMs: number;
  now: () => Date;
}

/**
 * One family of checks. `needs` names the families that must have passed first; when one did
 * not, this one is skipped with the reason instead of failing a second time for the same cause.
 */
export interface Check {
  id: string;
  /** The line's name when the check fails before saying more (e.g. it threw). */
  name: string;
  needs?: string[];
  run(context: DoctorContext): Promise<CheckResult[]>;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const fail = (name: string, detail: string, fix?: string): CheckResult => ({
  name,
  status: 'fail',
  detail,
  ...(fix !== undefined && { fix }),
});
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });
