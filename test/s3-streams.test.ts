/**
 * Streamed uploads to S3 (putStream), beyond the storage contract: what goes over the wire. A
 * body that fails after parts were stored leaves no open upload on the server; a small body is
 * one conditional PutObject, a large one a conditional CompleteMultipartUpload; a part the
 * server refuses fails the write as a StorageError naming the destination; on AWS each part
 * carries its SHA-256 for S3 to check (a staged file's too, read from its ranges); and the part
 * buffers, reused from part to part, store the body byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Storage } from '../src/storage/s3.ts';
import type { S3Profile } from '../src/storage/s3-profile.ts';
import { S3RVER_KEY, startS3Server, type S3TestServer } from './helpers/s3-server.ts';

const MIB = 1024 * 1024;
let s3: S3TestServer;

beforeAll(async () => {
  s3 = await startS3Server(['streams', 'streams-checksums', 'streams-held']);
});

afterAll(async () => {
  await s3?.stop();
});

function profile(bucket: string, extra: Partial<S3Profile> = {}): S3Profile {
  return {
    kind: 'compatible',
    bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    checksums: false,
    conditionalWrites: true,
    ...extra,
  };
}

/** A client that computes checksums where S3 supports them, as one for AWS does. */
function awsLikeClient(): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    requestChecksumCalculation: 'WHEN_SUPPORTED',
  });
}

interface SentPart {
  partNumber: string;
  checksum: unknown;
  length: unknown;
  encoding: unknown;
}

/** What each part request of the client carries: its SHA-256 header, its length and any content encoding. */
function partChecksums(client: S3Client): SentPart[] {
  const sent: SentPart[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { query?: Record<string, string>; headers?: Record<string, string> };
      if (request.query?.partNumber)
        sent.push({
          partNumber: request.query.partNumber,
          checksum: request.headers?.['x-amz-checksum-sha256'],
          length: request.headers?.['content-length'],
          encoding: request.headers?.['content-encoding'],
        });
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low' },
  );
  return sent;
}

function storage(bucket = 'streams', extra: Partial<S3Profile> = {}, client?: S3Client): S3Storage {
  return new S3Storage({
    name: 'offsite',
    type: 's3',
    profile: profile(bucket, extra),
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_KEY },
    partSizeMB: 5,
    concurrency: 2,
    ...(client && { client }),
  });
}

/** Random bytes in 1 MiB chunks that fail like a dump tool dying once `failAt` bytes are out (if before the end). */
function failingBody(bytes: number, failAt: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      if (sent >= failAt) return void this.destroy(new Error('mariadb-dump: Lost connection to server'));
      sent += MIB;
      this.push(randomBytes(MIB));
    },
  });
}

describe('putStream to S3', () => {
  it('a body that fails after parts were stored aborts its multipart upload on the server', async () => {
    const before = await s3.partsStored();
    await expect(
      storage().putStream('failed/run.dump', failingBody(40 * MIB, 17 * MIB), { metadata: {} }),
    ).rejects.toThrow('mariadb-dump: Lost connection to server');
    expect((await s3.partsStored()) - before).toBeGreaterThanOrEqual(2);
    expect(await s3.openMultipartUploads('streams')).not.toContain('failed/run.dump');
    expect(await storage().head('failed/run.dump')).toBeUndefined();
  });

  it('makes a small body one conditional PutObject and a large one a conditional CompleteMultipartUpload', async () => {
    const before = { writes: await s3.objectWrites('streams'), parts: await s3.partsStored() };
    await storage().putStream('sizes/small.dump', Readable.from([randomBytes(3 * MIB)]), { metadata: {} });
    const small = { writes: await s3.objectWrites('streams'), parts: await s3.partsStored() };
    expect(small.writes.conditional - before.writes.conditional).toBe(1);
    expect(small.parts - before.parts).toBe(0);
    await storage().putStream('sizes/large.dump', Readable.from([randomBytes(12 * MIB)]), { metadata: {} });
    const large = { writes: await s3.objectWrites('streams'), parts: await s3.partsStored() };
    expect(large.writes.conditional - small.writes.conditional).toBe(1);
    expect(large.parts - small.parts).toBe(3);
    expect(large.writes.unconditional - before.writes.unconditional).toBe(0);
  });

  it('stores a body of more parts than it has buffers byte for byte, whatever byte the chunks split at', async () => {
    const body = randomBytes(27 * MIB + 12_345);
    // Chunks of an odd size: parts end inside a chunk, which fills the end of one part and the start of the next.
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 700_001) chunks.push(body.subarray(at, at + 700_001));
    const before = await s3.partsStored();
    const written = await storage().putStream('reused/run.dump', Readable.from(chunks), { metadata: {} });
    // Six parts through three buffers (two in flight, one filling): each buffer carried two parts.
    expect((await s3.partsStored()) - before).toBe(6);
    expect(written).toEqual({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const stored = await buffer((await storage().get('reused/run.dump'))!);
    expect(stored.equals(body)).toBe(true);
  });

  it('a part the server refuses fails the write as a StorageError naming the destination, and nothing stays open', async () => {
    await s3.failNextUploads(1);
    await expect(
      storage().putStream('refused/run.dump', Readable.from([randomBytes(12 * MIB)]), { metadata: {} }),
    ).rejects.toMatchObject({
      name: 'StorageError',
      message: expect.stringMatching(
        // The test server answers before it reads the part, so the client may see its answer or the closed socket.
        /^destination offsite \(s3:\/\/streams\/refused\/run\.dump\): cannot upload: (InternalError: injected part failure|TimeoutError: write EPIPE)/,
      ),
    });
    expect(await s3.openMultipartUploads('streams')).not.toContain('refused/run.dump');
    expect(await storage().head('refused/run.dump')).toBeUndefined();
  });

  it('a bucket that does not exist is a ConfigError, found when the first part starts the upload', async () => {
    await expect(
      storage('no-such-bucket').putStream('run.dump', Readable.from([randomBytes(12 * MIB)]), { metadata: {} }),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message:
        'destination offsite (s3://no-such-bucket/run.dump): bucket no-such-bucket does not exist; create it or fix destinations.offsite.bucket',
    });
  });

  it('an abort while parts hang unanswered ends the write at once, and aborts the upload', async () => {
    await s3.hold('streams-held', 'parts');
    const controller = new AbortController();
    const writing = storage('streams-held').putStream(
      'held/run.dump',
      failingBody(40 * MIB, Number.POSITIVE_INFINITY),
      {
        metadata: {},
        signal: controller.signal,
      },
    );
    while ((await s3.held()) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const aborted = Date.now();
    controller.abort(new Error('SIGTERM'));
    await expect(writing).rejects.toMatchObject({ name: 'AbortError', message: 'the write was aborted (SIGTERM)' });
    expect(Date.now() - aborted).toBeLessThan(2_000);
    expect(await s3.openMultipartUploads('streams-held')).toEqual([]);
  });

  it('sends each part with its SHA-256 where the profile asks for checksums (AWS)', async () => {
    const client = awsLikeClient();
    const sent = partChecksums(client);
    const body = randomBytes(12 * MIB);
    const written = await storage('streams-checksums', { checksums: true }, client).putStream(
      'checked/run.dump',
      Readable.from([body]),
      { metadata: {} },
    );
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');
    const checksums = sent.map(({ partNumber, checksum }) => ({ partNumber, checksum }));
    expect(checksums.sort((a, b) => Number(a.partNumber) - Number(b.partNumber))).toEqual([
      { partNumber: '1', checksum: sha(body.subarray(0, 5 * MIB)) },
      { partNumber: '2', checksum: sha(body.subarray(5 * MIB, 10 * MIB)) },
      { partNumber: '3', checksum: sha(body.subarray(10 * MIB)) },
    ]);
    expect(written.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const stored = await buffer((await storage('streams-checksums').get('checked/run.dump'))!);
    expect(stored.equals(body)).toBe(true);
  });

  it('sends each part of a staged file, read from its range, with its SHA-256 and nothing else added (AWS)', async () => {
    const client = awsLikeClient();
    const sent = partChecksums(client);
    const body = randomBytes(11 * MIB + 5);
    const folder = await mkdtemp(path.join(tmpdir(), 'stepvault-s3-streams-'));
    try {
      const file = path.join(folder, 'staged.dump');
      await writeFile(file, body);
      const sha256 = createHash('sha256').update(body).digest('hex');
      await storage('streams-checksums', { checksums: true }, client).putFile('checked/staged.dump', file, {
        size: body.length,
        sha256,
        metadata: { sha256 },
      });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');
    expect(sent.sort((a, b) => Number(a.partNumber) - Number(b.partNumber))).toEqual([
      { partNumber: '1', checksum: sha(body.subarray(0, 5 * MIB)), length: String(5 * MIB), encoding: undefined },
      {
        partNumber: '2',
        checksum: sha(body.subarray(5 * MIB, 10 * MIB)),
        length: String(5 * MIB),
        encoding: undefined,
      },
      { partNumber: '3', checksum: sha(body.subarray(10 * MIB)), length: String(MIB + 5), encoding: undefined },
    ]);
    const stored = await buffer((await storage('streams-checksums').get('checked/staged.dump'))!);
    expect(stored.equals(body)).toBe(true);
  });
});
