/**
 * Reads stepvault.config.yml, validates it, resolves relative paths against the file's folder,
 * and merges `defaults` into every target. The result is what every step works from.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { formatConfigIssues } from './issues.ts';
import { closest } from '../text/closest.ts';
import { stringIssues } from './strings.ts';
import {
  configSchema,
  type DestinationConfig,
  type DeployConfig,
  type DumpOptions,
  type Engine,
  type EventsConfig,
  type ObservabilityConfig,
  type NotificationConfig,
  type RawConfig,
  type RetentionPolicy,
  type ScheduleConfig,
  type TlsOptions,
  type VerifyConfig,
  type MssqlOptions,
} from './schema.ts';
import { EMBEDDED_CONFIG_YAML } from './embedded.ts';
import type { AlertsConfig } from './schema/alerts.ts';
import type { FargateSize } from './schema/fargate.ts';
import type { EncryptionConfig } from './schema/encryption.ts';
import { engineInfo } from '../engines/registry.ts';
import { presetExcludedSchemas, type Preset } from './presets.ts';
import { defaultRunner, type RunnerDecision } from '../runners/default.ts';
import { DEFAULT_FARGATE_ABOVE, type RunnerChoice } from '../runners/types.ts';

export const DEFAULT_CONFIG_FILE = 'stepvault.config.yml';

const DEFAULT_STAGING = './.stepvault/staging';
const DEFAULT_RETENTION: RetentionPolicy = { keepLast: 7 };
/** A config reuses an anchor a few times; thousands of expansions are an attack, not a config. */
const MAX_ALIAS_EXPANSION = 100;

/** A target with the defaults merged in and every path absolute. */
export interface Target {
  name: string;
  engine: Engine;
  /** Unknown until the connection URL is resolved, for a target configured by `url`. */
  host?: string;
  port: number;
  database?: string;
  /**
   * A whole server instead of one database (`all`, or a list); `database` is then the one the
   * tools connect to in order to list the others (PostgreSQL: postgres), never dumped as such.
   */
  databases?: 'all' | string[];
  /** With databases: what the globals (roles, users, grants) hold. */
  globals?: { rolePasswords: boolean };
  /** The connection URL's secret reference, and the keys the config gives beside it (they must agree with it). */
  url?: ConnectionUrlReference;
  preset?: Preset;
  user?: string;
  /** A secret reference, resolved only by the step that connects. */
  password?: string;
  iamAuth?: boolean;
  /** The RDS instance's (`db-…`) or Aurora cluster's (`cluster-…`) resource id: what rds-db:connect is granted on. */
  rdsResourceId?: string;
  tls: TlsOptions;
  dump: DumpOptions;
  schedule?: ScheduleConfig;
  verify?: VerifyConfig;
  mssql?: MssqlOptions;
  timezone: string;
  staging: string;
  destinations: string[];
  notify: string[];
  retention: RetentionPolicy;
  /** The target's alerts, else the defaults' (whole, not merged). */
  alerts?: AlertsConfig;
  /** The ECS task's size on the fargate runner: the target's section, else the defaults' (whole, not merged). */
  fargate?: FargateSize;
  /** Where the dump runs; Plan resolves `auto` (src/runners/). */
  runner: RunnerChoice;
  /** Why this runner: the config said so, or the default rule's reason. */
  runnerReason: string;
  /** With runner auto: above which share of the Lambda time limit the dump moves to fargate, and the runner below. */
  runnerAuto?: { fargateAbove: number; below: RunnerDecision };
  /** age encryption of the dump: the target's section, else the defaults' (whole, not merged). */
  encryption?: EncryptionConfig;
}

/** A target's `url`: resolved by the steps that connect (src/steps/target-connection.ts). */
export interface ConnectionUrlReference {
  reference: string;
  /** What the config itself says beside the URL, as written (no defaults). */
  alongside: { host?: string; port?: number; database?: string; user?: string; password?: string; tlsMode?: string };
}

/** A target whose connection is known: what a dumper connects with. */
export type ConnectedTarget = Target & { host: string; database: string };

export interface Config {
  /** The file it came from, or "embedded" for the built-in sample. */
  source: string;
  /**
   * The text it was parsed from and the folder its relative paths are taken from: what a process
   * that runs a step of this run elsewhere (the fargate runner's task) is handed when there is no
   * file to name (src/config/environment.ts).
   */
  origin?: { text: string; baseDir: string };
  targets: Record<string, Target>;
  destinations: Record<string, DestinationConfig>;
  notifications: Record<string, NotificationConfig>;
  /** defaults.notify: where a failure goes when its target is unknown. */
  defaultNotify?: string[];
  events?: EventsConfig;
  observability?: ObservabilityConfig;
  deploy?: DeployConfig;
}

/** Loads a config file; with no file named and none in the folder, the embedded sample. */
export function loadConfig(file?: string, cwd = process.cwd()): Config {
  if (file === undefined) {
    const candidate = path.resolve(cwd, DEFAULT_CONFIG_FILE);
    let text: string;
    try {
      text = readFileSync(candidate, 'utf8');
    } catch (error) {
      if (isMissingFile(error)) return parseConfig(EMBEDDED_CONFIG_YAML, 'embedded', cwd);
      throw new ConfigError(
        `${DEFAULT_CONFIG_FILE} cannot be read: ${(error as Error).message}; make it a readable file, or pass --config with the path of your config`,
      );
    }
    return parseConfig(text, candidate, cwd);
  }
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    if (isMissingFile(error))
      throw new ConfigError(
        `config file ${file} does not exist; pass --config with the path of your stepvault.config.yml`,
      );
    throw new ConfigError(`config file ${file} cannot be read: ${(error as Error).message}`);
  }
  return parseConfig(text, absolute, path.dirname(absolute));
}

/** Parses config text; relative paths in it are taken from `baseDir`. */
export function parseConfig(text: string, source: string, baseDir: string): Config {
  const label = source === 'embedded' ? 'embedded config' : path.basename(source);
  const data = readYaml(text, label);
  const tooLongOrControl = stringIssues(data);
  if (tooLongOrControl.length > 0) throw problems(label, tooLongOrControl);
  const parsed = configSchema.safeParse(data);
  if (!parsed.success) throw problems(label, formatConfigIssues(parsed.error.issues, configSchema, data));
  return { ...resolveConfig(parsed.data, source, baseDir), origin: { text, baseDir } };
}

function problems(label: string, lines: string[]): ConfigError {
  return new ConfigError(
    `${label} has ${lines.length === 1 ? 'a problem' : `${lines.length} problems`}:\n  ${lines.join('\n  ')}`,
  );
}

/** YAML to plain data; whatever the parser throws becomes a ConfigError that says what to do. */
function readYaml(text: string, label: string): unknown {
  if (text.includes('\u0000'))
    throw new ConfigError(
      `${label} is not a text file (it holds NUL bytes); point --config at your stepvault.config.yml`,
    );
  try {
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (document.errors.length > 0) {
      const messages = document.errors.map((e) => {
        const at = e.linePos?.[0];
        return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${e.message.split('\n')[0]}`;
      });
      throw new ConfigError(
        `${label} is not valid YAML:\n  ${messages.join('\n  ')}\nCheck the indentation and quoting near that line.`,
      );
    }
    return withoutEmptyKeys(document.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) ?? {});
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (/alias/i.test((error as Error).message)) {
      throw new ConfigError(
        `${label} uses YAML aliases (*name) that expand too far (${(error as Error).message}); write the values out instead of nesting aliases`,
      );
    }
    throw new ConfigError(
      `${label} cannot be read as YAML (${(error as Error).message}); check the file is the stepvault config, saved as UTF-8 text`,
    );
  }
}

function resolveConfig(raw: RawConfig, source: string, baseDir: string): Config {
  const at = (p: string) => path.resolve(baseDir, p);
  const defaults = raw.defaults ?? {};
  const targets: Record<string, Target> = {};
  for (const [name, t] of Object.entries(raw.targets)) {
    targets[name] = {
      name,
      engine: t.engine,
      ...(t.host !== undefined && { host: t.host }),
      port: t.port ?? engineInfo(t.engine).defaultPort,
      ...(t.database !== undefined && { database: t.database }),
      ...(t.databases !== undefined && {
        databases: t.databases,
        globals: { rolePasswords: t.globals?.rolePasswords ?? false },
        ...(t.url === undefined && { database: engineInfo(t.engine).wholeServer?.connectTo ?? '' }),
      }),
      ...(t.url !== undefined && { url: urlReference(t) }),
      ...(t.preset !== undefined && { preset: t.preset }),
      ...(t.user !== undefined && { user: t.user }),
      ...(t.password !== undefined && { password: t.password }),
      ...(t.iamAuth && { iamAuth: true }),
      ...(t.rdsResourceId !== undefined && { rdsResourceId: t.rdsResourceId }),
      // IAM tokens travel only over TLS: "prefer" becomes "require".
      tls:
        t.iamAuth && (t.tls?.mode ?? 'prefer') === 'prefer'
          ? { ...t.tls, mode: 'require' }
          : t.tls
            ? { ...t.tls, ...(t.tls.ca !== undefined && { ca: at(t.tls.ca) }) }
            : { mode: 'prefer' },
      dump: withPreset(t.preset, t.dump ?? {}),
      ...((t.schedule ?? defaults.schedule) && { schedule: t.schedule ?? defaults.schedule }),
      ...(t.verify && { verify: t.verify }),
      ...(t.mssql && { mssql: t.mssql }),
      timezone: t.timezone ?? t.schedule?.timezone ?? defaults.timezone ?? 'UTC',
      staging: at(t.staging ?? defaults.staging ?? DEFAULT_STAGING),
      // The schema guarantees one of the two is set.
      destinations: t.destinations ?? defaults.destinations ?? [],
      notify: t.notify ?? defaults.notify ?? [],
      retention: t.retention ?? defaults.retention ?? DEFAULT_RETENTION,
      ...((t.alerts ?? defaults.alerts) && { alerts: t.alerts ?? defaults.alerts }),
      ...((t.fargate ?? defaults.fargate) && { fargate: t.fargate ?? defaults.fargate }),
      ...((t.encryption ?? defaults.encryption) && { encryption: t.encryption ?? defaults.encryption }),
      ...runnerOf(name, t, raw),
    };
  }
  const destinations: Record<string, DestinationConfig> = {};
  for (const [name, d] of Object.entries(raw.destinations)) {
    destinations[name] = d.type === 'filesystem' ? { ...d, path: at(d.path) } : d;
  }
  const notifications: Record<string, NotificationConfig> = {};
  for (const [name, n] of Object.entries(raw.notifications)) {
    notifications[name] =
      n.type === 'outbox'
        ? { ...n, path: at(n.path) }
        : n.type === 'smtp' && n.ca !== undefined
          ? { ...n, ca: at(n.ca) }
          : n;
  }
  return {
    source,
    targets,
    destinations,
    notifications,
    ...(defaults.notify && { defaultNotify: defaults.notify }),
    ...(raw.events && { events: raw.events }),
    ...(raw.observability && { observability: raw.observability }),
    ...(raw.deploy && { deploy: raw.deploy }),
  };
}

function urlReference(t: RawConfig['targets'][string]): ConnectionUrlReference {
  const alongside: ConnectionUrlReference['alongside'] = {
    ...(t.host !== undefined && { host: t.host }),
    ...(t.port !== undefined && { port: t.port }),
    ...(t.database !== undefined && { database: t.database }),
    ...(t.user !== undefined && { user: t.user }),
    ...(t.password !== undefined && { password: t.password }),
    ...(t.tls?.mode !== undefined && { tlsMode: t.tls.mode }),
  };
  return { reference: t.url!, alongside };
}

/** A preset's schemas first, then the target's own. */
function withPreset(preset: Preset | undefined, dump: DumpOptions): DumpOptions {
  const excluded = presetExcludedSchemas(preset);
  if (excluded.length === 0) return dump;
  return { ...dump, excludeSchemas: [...new Set([...excluded, ...(dump.excludeSchemas ?? [])])] };
}

/** The target's runner: its own, the defaults', or the default rule's (src/runners/default.ts), with why. */
function runnerOf(
  name: string,
  t: RawConfig['targets'][string],
  raw: RawConfig,
): Pick<Target, 'runner' | 'runnerReason' | 'runnerAuto'> {
  const rule = defaultRunner({
    engine: t.engine,
    host: t.host,
    streams: engineInfo(t.engine).streams,
    drill: t.verify?.drill !== undefined,
    parallel: (t.dump?.jobs ?? 1) > 1,
    wholeServer: t.databases !== undefined,
    vpcNamed: raw.deploy?.vpc !== undefined,
  });
  const asked = t.runner ?? raw.defaults?.runner;
  const runner = asked ?? rule.runner;
  const runnerReason =
    t.runner !== undefined
      ? `targets.${name}.runner is ${t.runner}`
      : asked !== undefined
        ? `defaults.runner is ${asked}`
        : rule.reason;
  if (runner !== 'auto') return { runner, runnerReason };
  const fargateAbove = t.runnerAuto?.fargateAbove ?? raw.defaults?.runnerAuto?.fargateAbove ?? DEFAULT_FARGATE_ABOVE;
  return { runner, runnerReason, runnerAuto: { fargateAbove, below: rule } };
}

/** The named target, or a ConfigError that lists the known ones. */
export function getTarget(config: Config, name: string): Target {
  const target = Object.hasOwn(config.targets, name) ? config.targets[name] : undefined;
  if (!target) {
    const known = Object.keys(config.targets);
    throw new ConfigError(
      `unknown target ${JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name)} in ${config.source === 'embedded' ? 'the embedded config' : path.basename(config.source)}; known targets: ${known.join(', ')}${closestTarget(name, known)}`,
    );
  }
  return target;
}

/**
 * The named target with its connection as the config gives it (host and database). A target
 * configured by `url` has none until the URL is resolved: src/steps/target-connection.ts does that.
 */
export function getConnectedTarget(config: Config, name: string): ConnectedTarget {
  return configuredConnection(getTarget(config, name));
}

export function configuredConnection(target: Target): ConnectedTarget {
  if (target.host === undefined || target.database === undefined) {
    throw new ConfigError(`targets.${target.name} is configured by url, which only a step that connects resolves`);
  }
  return target as ConnectedTarget;
}

function closestTarget(name: string, known: string[]): string {
  const guess = closest(name, known);
  return guess ? ` (did you mean "${guess}"?)` : '';
}

/**
 * A key with nothing after it (`dump:` whose options are all commented out) means "not set",
 * as it reads; YAML says null.
 */
function withoutEmptyKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutEmptyKeys(v)]),
  );
}

function isMissingFile(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}
