/**
 * A throwaway folder with a config file in it, and a way to run the real workflow there while
 * keeping everything it said: state events, log lines, progress and the outbox's messages.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import type { RunState, StoredBackup } from '../../src/contracts.ts';
import { type RunOptions, runWorkflow, type RunOutcome, type WorkflowEvent } from '../../src/local/runner.ts';
import { createJsonLogger } from '../../src/observability/log.ts';
import { createRuntime, type ProgressEvent } from '../../src/runtime.ts';

export interface Workspace {
  dir: string;
  configFile: string;
  writeConfig(config: unknown): Promise<void>;
  run(
    target: string,
    options?: { retryDelayMs?: number; now?: () => Date; onTask?: RunOptions['onTask'] },
  ): Promise<RunRecord>;
  outbox(): Promise<Mail[]>;
  stagingEntries(): Promise<string[]>;
  remove(): Promise<void>;
}

export interface RunRecord extends RunOutcome {
  events: WorkflowEvent[];
  logs: string[];
  progress: ProgressEvent[];
  /** The EMF documents the run emitted. */
  metrics: Record<string, unknown>[];
  state: RunState;
}

export interface Mail {
  file: string;
  headers: Record<string, string>;
  /** The plain-text part. */
  body: string;
  html: string;
  raw: string;
}

/**
 * The workspaces one suite makes as it goes, each with its config written, removed together in
 * the suite's afterAll.
 */
export function workspacePool(): { withConfig(config: unknown): Promise<Workspace>; removeAll(): Promise<void> } {
  const made: Workspace[] = [];
  return {
    async withConfig(config) {
      const workspace = await createWorkspace();
      made.push(workspace);
      await workspace.writeConfig(config);
      return workspace;
    },
    async removeAll() {
      await Promise.all(made.splice(0).map((workspace) => workspace.remove()));
    },
  };
}

export async function createWorkspace(): Promise<Workspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-test-'));
  const configFile = path.join(dir, 'stepvault.config.yml');
  return {
    dir,
    configFile,
    async writeConfig(config) {
      await writeFile(configFile, typeof config === 'string' ? config : stringify(config));
    },
    async run(target, options = {}) {
      const logs: string[] = [];
      const events: WorkflowEvent[] = [];
      const progress: ProgressEvent[] = [];
      const metrics: Record<string, unknown>[] = [];
      const outcome = await runWorkflow({
        request: { target },
        runtime: createRuntime(loadConfig(configFile), {
          ...(options.now && { now: options.now }),
          logger: (sinks) => createJsonLogger({ level: 'debug', write: (line) => logs.push(line), sinks }),
          emitMetrics: (document) => metrics.push(document),
          progress: (event) => progress.push(event),
        }),
        onEvent: (event) => events.push(event),
        retryDelayMs: options.retryDelayMs ?? 10,
        ...(options.onTask && { onTask: options.onTask }),
        waitMs: 10,
      });
      const state = outcome.output ?? { target };
      return { ...outcome, events, logs, progress, metrics, state };
    },
    async outbox() {
      const folder = path.join(dir, 'outbox');
      const files = (await readdir(folder).catch(() => [] as string[])).filter((f) => f.endsWith('.eml')).sort();
      return Promise.all(
        files.map(async (f) => parseMail(path.join(folder, f), await readFile(path.join(folder, f), 'utf8'))),
      );
    },
    async stagingEntries() {
      return readdir(path.join(dir, 'staging'), { recursive: true }).catch(() => [] as string[]);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

function parseMail(file: string, raw: string): Mail {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type'] ?? '')?.[1];
  const body = rest.join('\r\n\r\n');
  if (!boundary) return { file, headers, body: body.replace(/\r\n/g, '\n'), html: '', raw };
  const parts = body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [partHead = '', ...content] = part.replace(/^\r\n/, '').split('\r\n\r\n');
      const text = content.join('\r\n\r\n').replace(/\r\n$/, '');
      return {
        head: partHead,
        text: /base64/.test(partHead) ? Buffer.from(text.replace(/\r\n/g, ''), 'base64').toString('utf8') : text,
      };
    });
  const plain = parts.find((p) => p.head.includes('text/plain'))?.text ?? '';
  const html = parts.find((p) => p.head.includes('text/html'))?.text ?? '';
  return { file, headers, body: plain.replace(/\r\n/g, '\n'), html, raw };
}

/** A config for one target, writing into the workspace's own folders. */
export function configFor(
  target: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    defaults: { staging: './staging', destinations: ['local'], notify: ['desk'] },
    destinations: { local: { type: 'filesystem', path: './backups', prefix: 'db' } },
    notifications: { desk: { type: 'outbox', path: './outbox', to: ['ops@example.test'] } },
    targets: { main: target },
    ...extra,
  };
}

/** The first destination the run stored into (the tests' single-destination configs). */
export function storedBackup(record: RunRecord, index = 0): StoredBackup {
  const outcome = record.state.upload?.filter((o) => o.status === 'stored')[index];
  if (outcome?.status !== 'stored') throw new Error(`the run stored nothing (${record.status}: ${record.cause ?? ''})`);
  return outcome;
}
