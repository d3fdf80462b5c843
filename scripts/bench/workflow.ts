/**
 * One `stepvault run` of the benchmark: a fresh folder with its config (the bench target, one
 * destination: a folder or a bucket on the S3 server), the CLI started as a user starts it, its
 * wall time and peak RSS measured (measure.ts), and what it stored read back from the manifest
 * (the dump's size, the compression the run used).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3TestServer } from '../../test/helpers/s3-server.ts';
import { s3Destination } from '../../test/helpers/s3-server.ts';
import type { BenchEngine } from './databases.ts';
import { measure } from './measure.ts';
import { targetYaml } from './settings.ts';

export interface WorkflowRun {
  seconds: number;
  peakRss: number;
  size: number;
  compression: string;
  /** The dump state's own time (Dump or StreamDump), from the run's output. */
  dumpState: string;
}

export interface WorkflowOptions {
  engine: BenchEngine;
  database: string;
  runner: 'efs' | 'lambda';
  destination: 'folder' | 's3';
  /** More keys of the target, e.g. `, dump: { jobs: 2 }`. */
  extra?: string;
  s3?: S3TestServer;
  env: NodeJS.ProcessEnv;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function runWorkflow(dir: string, options: WorkflowOptions): Promise<WorkflowRun> {
  mkdirSync(dir, { recursive: true });
  const bucket = `bench-${path.basename(dir)}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (options.destination === 's3' && !options.s3) throw new Error('an S3 row needs the S3 server');
  const destination =
    options.destination === 'folder'
      ? '{ type: filesystem, path: ./backups }'
      : JSON.stringify(s3Destination(options.s3!, 'bench', { prefix: bucket }));
  // The lambda runner stages nothing: a file where its staging folder would be proves it.
  writeFileSync(path.join(dir, 'not-a-folder'), 'nothing is staged here');
  const staging = options.runner === 'lambda' ? './not-a-folder/staging' : './staging';
  writeFileSync(
    path.join(dir, 'stepvault.config.yml'),
    `defaults: { staging: ${staging}, destinations: [dest], notify: [desk] }
destinations: { dest: ${destination} }
notifications: { desk: { type: outbox, path: ./outbox } }
targets:
  bench: ${targetYaml(options.engine, options.database, `, runner: ${options.runner}${options.extra ?? ''}`)}
`,
  );
  const run = await measure(process.execPath, [path.join(ROOT, 'bin/stepvault.js'), 'run', '--target', 'bench'], {
    cwd: dir,
    env: options.env,
    sampleRss: true,
  });
  if (run.code !== 0)
    throw new Error(
      `stepvault run in ${dir} exited ${run.code}:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`,
    );
  const manifest = JSON.parse(
    options.destination === 'folder'
      ? folderManifest(path.join(dir, 'backups'))
      : await s3Manifest(options.s3!, bucket),
  ) as { size: number; compression: string };
  const state = /✓ ((?:Stream)?Dump)\s+(\S+)/.exec(run.stdout);
  return {
    seconds: run.seconds,
    peakRss: run.peakRss,
    size: manifest.size,
    compression: manifest.compression,
    dumpState: state ? `${state[1]} ${state[2]}` : '',
  };
}

function folderManifest(folder: string): string {
  const found = readdirSync(folder, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.manifest.json'));
  if (!found) throw new Error(`no manifest in ${folder}`);
  return readFileSync(path.join(folder, found), 'utf8');
}

async function s3Manifest(server: S3TestServer, prefix: string): Promise<string> {
  const listed = await server.client.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: prefix }));
  const key = listed.Contents?.find((o) => o.Key?.endsWith('.manifest.json'))?.Key;
  if (!key) throw new Error(`no manifest under s3://bench/${prefix}`);
  const object = await server.client.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
  return object.Body!.transformToString();
}
