/** Every engine stepvault backs up. Adding one: its file beside this one and a line here. */
import { mariadb, mysql } from './mysql.ts';
import { mssql } from './mssql.ts';
import { postgres } from './postgres.ts';
import type { EngineInfo, EngineTarget, RestoreFamily, ServerWrites } from './types.ts';

const ENGINE_INFO = { postgres, mysql, mariadb, mssql } as const satisfies Record<string, EngineInfo>;

export type Engine = keyof typeof ENGINE_INFO;
export const ENGINES = Object.keys(ENGINE_INFO) as [Engine, ...Engine[]];

export function engineInfo(engine: Engine): EngineInfo {
  return ENGINE_INFO[engine];
}

/** The engine a URL scheme (without ":") names, if any. */
export function engineForScheme(scheme: string): Engine | undefined {
  return ENGINES.find((engine) => ENGINE_INFO[engine].urlSchemes.includes(scheme));
}

/** Every URL scheme of the engines whose dumps can be restored, for messages and patterns. */
export function restorableSchemes(): string[] {
  return ENGINES.flatMap((engine) => (ENGINE_INFO[engine].restoreFamily ? ENGINE_INFO[engine].urlSchemes : []));
}

/** How the server writes this target's backup into its destination itself, or undefined when it is staged. */
export function serverWrites(target: EngineTarget & { engine: Engine }): ServerWrites | undefined {
  return ENGINE_INFO[target.engine].serverWrites?.(target);
}

export function restoreFamilyOf(engine: Engine): RestoreFamily | undefined {
  return ENGINE_INFO[engine].restoreFamily;
}
