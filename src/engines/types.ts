/**
 * What stepvault knows about a database engine apart from how to dump it: the facts that the
 * config schema, the loader, restore and the drill ask for. Each engine declares its own in a
 * file beside this one; nothing else names an engine's port, user, URL schemes or options.
 */
import type { DumpOptions, MssqlOptions } from '../config/schema.ts';

export type DumpOptionName = keyof DumpOptions;

/** The client that restores an engine's dumps (restore and the drill); one per wire protocol. */
export type RestoreFamily = 'postgres' | 'mysql';

export interface EngineInfo {
  /** The engine's own name, for messages. */
  label: string;
  defaultPort: number;
  /** The user a target connects as when it names none. */
  defaultUser: string;
  /** URL schemes (without "://") that name a server of this engine in --into and verify.drill.into. */
  urlSchemes: readonly string[];
  /** Who restores its dumps; undefined when only the server itself can (restore and the drill refuse). */
  restoreFamily: RestoreFamily | undefined;
  /** With no restore family: how a person restores its backup instead, for restore's message. */
  restoreHint?: string;
  /** The dump.* options its dumper reads; any other is refused at load. */
  dumpOptions: readonly DumpOptionName[];
  /** For a dump.* option it does not read: what to do instead (the message says "remove it" otherwise). */
  dumpOptionFixes?: Partial<Record<DumpOptionName, string>>;
  /**
   * Its dump tool's output can be streamed straight into a destination (the lambda and fargate
   * runners); false where the server writes a backup file itself.
   */
  streams: boolean;
  /**
   * Whole-server backups (a target's `databases`): the database the tools connect to in order to
   * list the others, and the databases never backed up as such (templates, system schemas, whose
   * users and grants go into the globals); undefined where the engine has none.
   */
  wholeServer?: { connectTo: string; skipped: readonly string[] };
  /** Its own section of a target (e.g. mssql:), required for it and refused on every other engine. */
  section?: 'mssql';
  /**
   * Whether the server writes this target's backup straight into a destination (nothing is
   * staged; the state machine polls the task) and, if so, how; undefined means staged.
   */
  serverWrites?: (target: EngineTarget) => ServerWrites | undefined;
}

/** The part of a target an engine reads to decide how it is backed up. */
export interface EngineTarget {
  mssql?: MssqlOptions | undefined;
}

export interface ServerWrites {
  /** How the mode is called in messages. */
  mode: string;
  /** The destination types the server can write to; the target must have exactly one destination. */
  destinationTypes: readonly string[];
  /** How long its task may run before the run gives up. */
  timeoutSeconds: number;
}
