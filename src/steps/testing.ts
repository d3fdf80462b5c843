/**
 * What the steps' unit tests share: a config whose destinations are in-memory stores, a runtime
 * that records its log and metrics, a fake dumper, and a whole run (Plan → Dump → Upload) to
 * start from. No database, server or network: the unit project runs in seconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseConfig, type Config } from '../config/load.ts';
import { SecretResolver } from '../config/secrets.ts';
import type { DestinationOutcome, PlanResult, StagedDump } from '../contracts.ts';
import type { StagingDumper } from '../dumpers/types.ts';
import { createJsonLogger } from '../observability/log.ts';
import { createRuntime, type ProgressEvent, type Runtime } from '../runtime.ts';
import { memoryDestination, type MemoryDestinationConfig } from '../storage/memory.ts';
import { storageFor } from '../storage/registry.ts';
import type { StorageProvider } from '../storage/types.ts';
import { plan } from './plan.ts';
import { upload } from './upload.ts';

export interface StepWorld {
  config: Config;
  runtime: Runtime;
  /** Every log line the steps wrote, parsed. */
  logs: Record<string, unknown>[];
  metrics: Record<string, unknown>[];
  progress: ProgressEvent[];
  /** The clock the runtime reads; tests move it. */
  clock: { now: Date };
  staging: string;
  storage(name: string): Promise<StorageProvider>;
}

/**
 * A config with one postgres target `orders` storing into the given memory destinations (by
 * default one, `mem`). `targetYaml` adds to the target's flow mapping, e.g. `retention: { keepLast: 2 }`;
 * `notifications` is the flow mapping of the config's notifiers (paths are relative to staging).
 */
export async function stepWorld(
  options: {
    destinations?: Record<string, Omit<MemoryDestinationConfig, 'type'>>;
    targetYaml?: string;
    notifications?: string;
  } = {},
): Promise<StepWorld> {
  const staging = await mkdtemp(path.join(tmpdir(), 'stepvault-unit-'));
  const destinations = options.destinations ?? { mem: {} };
  const names = Object.keys(destinations);
  // The schema knows no memory type: parse with folders of the same names, then swap them.
  const notifications = options.notifications ? `notifications: ${options.notifications}\n` : '';
  const yaml = `${notifications}destinations: { ${names.map((n) => `${n}: { type: filesystem, path: ./unused }`).join(', ')} }
targets:
  orders: { engine: postgres, host: db.internal, database: orders, staging: ${JSON.stringify(staging)}, destinations: [${names.join(', ')}]${options.targetYaml ? `, ${options.targetYaml}` : ''} }
`;
  const parsed = parseConfig(yaml, `unit-${randomBytes(6).toString('hex')}`, staging);
  const config: Config = {
    ...parsed,
    destinations: Object.fromEntries(names.map((n) => [n, memoryDestination(destinations[n])])),
  };
  const logs: Record<string, unknown>[] = [];
  const metrics: Record<string, unknown>[] = [];
  const progress: ProgressEvent[] = [];
  const clock = { now: new Date('2026-11-22T03:00:07Z') };
  const secrets = new SecretResolver();
  const runtime = createRuntime(config, {
    secrets,
    now: () => new Date(clock.now),
    logger: () =>
      createJsonLogger({ level: 'debug', write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) }),
    emitMetrics: (document) => metrics.push(document),
    progress: (event) => progress.push(event),
  });
  return {
    config,
    runtime,
    logs,
    metrics,
    progress,
    clock,
    staging,
    storage: (name) => storageFor(config, name, secrets),
  };
}

/**
 * A dumper that writes `content` (or fails with `error`) and reports what a real one would. Into
 * a stream (dumpInto) it sends half, then the rest, and fails with `error` where a real one's
 * check does: before the object becomes visible.
 */
export function fakeDumper(
  options: { content?: string | Buffer; error?: Error } = {},
): StagingDumper & { requests: { file?: string; password?: string }[] } {
  const requests: { file?: string; password?: string }[] = [];
  return {
    requests,
    async dumpInto(request) {
      requests.push({ ...(request.password !== undefined && { password: request.password }) });
      const body = Buffer.from(options.content ?? 'fake dump\n');
      const half = Math.floor(body.length / 2);
      const written = await request.sink(Readable.from([body.subarray(0, half), body.subarray(half)]), async () => {
        if (options.error) throw options.error;
      });
      request.onProgress?.({ bytes: written.size });
      return {
        size: written.size,
        sha256: written.sha256,
        compression: 'custom',
        tool: { name: 'fake_dump', version: '1.0' },
        serverVersion: '18.1',
      };
    },
    writes: 'staging',
    async dump(request) {
      requests.push({ file: request.file, ...(request.password !== undefined && { password: request.password }) });
      const body = Buffer.from(options.content ?? 'fake dump\n');
      await writeFile(request.file, body.subarray(0, Math.floor(body.length / 2)));
      request.onProgress?.({ bytes: Math.floor(body.length / 2) });
      if (options.error) throw options.error;
      await writeFile(request.file, body);
      request.onProgress?.({ bytes: body.length });
      return {
        size: body.length,
        sha256: createHash('sha256').update(body).digest('hex'),
        compression: 'custom',
        tool: { name: 'fake_dump', version: '1.0' },
        serverVersion: '18.1',
      };
    },
  };
}

export function execution(
  at: Date,
  id = `arn:aws:states:eu-west-1:123456789012:execution:backup:${randomBytes(4).toString('hex')}`,
) {
  return { id, name: id.split(':').pop()!, startTime: at.toISOString() };
}

export interface StoredRun {
  plan: PlanResult;
  dump: StagedDump;
  upload: DestinationOutcome[];
}

/** The bytes a dump of `content` leaves in the run's staging folder, as Dump would describe them. */
export async function stagedDump(
  plan: PlanResult,
  content: string | Buffer = `dump of ${plan.runId}\n`,
): Promise<StagedDump> {
  const body = Buffer.from(content);
  await mkdir(plan.stagingDir, { recursive: true });
  const file = path.join(plan.stagingDir, plan.fileName);
  await writeFile(file, body);
  return {
    kind: 'staged',
    file,
    size: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    compression: 'custom',
    tool: { name: 'fake_dump', version: '1.0' },
    serverVersion: '18.1',
    startedAt: plan.startedAt,
    finishedAt: plan.startedAt,
    durationSeconds: 0,
  };
}

/** Plan, a staged dump and Upload to every destination, as a run started at `at` does them. */
export async function storedRun(world: StepWorld, at: Date, content?: string): Promise<StoredRun> {
  world.clock.now = at;
  const planned = await plan({ request: { target: 'orders' }, execution: execution(at) }, world.runtime);
  const dumped = await stagedDump(planned, content);
  const outcomes: DestinationOutcome[] = [];
  for (const destination of planned.destinations)
    outcomes.push(await upload({ plan: planned, dump: dumped, destination }, world.runtime));
  return { plan: planned, dump: dumped, upload: outcomes };
}
