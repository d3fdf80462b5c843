/** Starts the test S3 server (test/helpers/s3rver-process.ts) and talks to it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';

/** s3rver accepts these keys; the tests pass them as secret references like a user would. */
export const S3RVER_KEY = 'S3RVER';

export interface S3TestServer {
  endpoint: string;
  directory: string;
  client: S3Client;
  openMultipartUploads(bucket: string): Promise<string[]>;
  /** How many multipart parts the server has stored so far. */
  partsStored(): Promise<number>;
  /** Object writes (PutObject, CompleteMultipartUpload) into a bucket so far, with and without If-None-Match: *. */
  objectWrites(bucket: string): Promise<{ conditional: number; unconditional: number }>;
  /** From now on, every part upload (or manifest write) into the bucket gets no answer until its client goes away. */
  hold(bucket: string, what: 'parts' | 'manifests'): Promise<void>;
  /** Copies the server made into a bucket so far: whole objects (CopyObject) and parts (UploadPartCopy). */
  copies(bucket: string): Promise<{ objects: number; parts: number }>;
  /** Objects read from a bucket (GetObject) so far. */
  objectReads(bucket: string): Promise<number>;
  /** How many requests are held so far. */
  held(): Promise<number>;
  /** The next `count` object listings fail with a 500. */
  failNextLists(count: number): Promise<void>;
  /** Every part of the next `count` multipart uploads fails with a 500. */
  failNextUploads(count: number): Promise<void>;
  /**
   * Arms a crash: the server kills itself (SIGKILL) right after storing `parts` more parts, before
   * answering the last. Resolves once armed, with a promise of the process's exit.
   */
  crashAfterParts(parts: number): Promise<{ exited: Promise<void> }>;
  /** Starts the server again on the same port and data folder, after a kill. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface ServerProcess {
  child: ChildProcess;
  port: number;
}

function spawnServer(directory: string, port: number, buckets: string[]): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      path.join(import.meta.dirname, 's3rver-process.ts'),
      directory,
      String(port),
      ...buckets,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise<ServerProcess>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening (\d+)/.exec(output);
      if (listening) resolve({ child, port: Number(listening[1]) });
    });
    child.once('exit', (code) => reject(new Error(`the S3 test server exited (${code}) before listening`)));
  });
}

export async function startS3Server(buckets: string[]): Promise<S3TestServer> {
  process.env.STEPVAULT_TEST_S3_KEY = S3RVER_KEY;
  const directory = await mkdtemp(path.join(tmpdir(), 'stepvault-s3-'));
  let current = await spawnServer(directory, 0, buckets);
  const { port } = current;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    directory,
    client,
    async openMultipartUploads(bucket) {
      const result = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (result.Uploads ?? []).map((u) => u.Key!);
    },
    async partsStored() {
      const response = await fetch(`${endpoint}/_test/stats`);
      return ((await response.json()) as { partsStored: number }).partsStored;
    },
    async objectWrites(bucket) {
      const response = await fetch(`${endpoint}/_test/stats`);
      const { objectWrites } = (await response.json()) as {
        objectWrites: Record<string, { conditional: number; unconditional: number }>;
      };
      return objectWrites[bucket] ?? { conditional: 0, unconditional: 0 };
    },
    async copies(bucket) {
      const response = await fetch(`${endpoint}/_test/stats`);
      const { copies } = (await response.json()) as { copies: Record<string, { objects: number; parts: number }> };
      return copies[bucket] ?? { objects: 0, parts: 0 };
    },
    async objectReads(bucket) {
      const response = await fetch(`${endpoint}/_test/stats`);
      return ((await response.json()) as { objectReads: Record<string, number> }).objectReads[bucket] ?? 0;
    },
    async hold(bucket, what) {
      const response = await fetch(`${endpoint}/_test/hold?bucket=${encodeURIComponent(bucket)}&what=${what}`, {
        method: 'POST',
      });
      if (!response.ok) throw new Error(`cannot arm the hold: ${response.status}`);
    },
    async held() {
      const response = await fetch(`${endpoint}/_test/stats`);
      return ((await response.json()) as { held: number }).held;
    },
    async failNextLists(count) {
      const response = await fetch(`${endpoint}/_test/fail-lists?count=${count}`, { method: 'POST' });
      if (!response.ok) throw new Error(`cannot arm the fault: ${response.status}`);
    },
    async failNextUploads(count) {
      const response = await fetch(`${endpoint}/_test/fail-uploads?count=${count}`, { method: 'POST' });
      if (!response.ok) throw new Error(`cannot arm the fault: ${response.status}`);
    },
    async crashAfterParts(parts) {
      const { child } = current;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const response = await fetch(`${endpoint}/_test/crash-after-parts?count=${parts}`, { method: 'POST' });
      if (!response.ok) throw new Error(`cannot arm the crash: ${response.status}`);
      return { exited };
    },
    async restart() {
      current = await spawnServer(directory, port, buckets);
    },
    async stop() {
      client.destroy();
      const { child } = current;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A destination config for a bucket on the test server, with keys as secret references. */
export function s3Destination(
  server: S3TestServer,
  bucket: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 's3',
    bucket,
    endpoint: server.endpoint,
    accessKeyId: 'env:STEPVAULT_TEST_S3_KEY',
    secretAccessKey: 'env:STEPVAULT_TEST_S3_KEY',
    ...extra,
  };
}
