/**
 * Upload throughput of a 1 GiB dump to an S3 server (s3rver on loopback) next to writing the same
 * file to local disk, and the peak RSS of the Node process while it uploads: it must stay near
 * part size × parts in flight, not grow with the file.
 *
 *   node scripts/bench-upload.ts [--size-mb 1024]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FilesystemStorage } from '../src/storage/filesystem.ts';
import { S3Storage } from '../src/storage/s3.ts';
import { s3Profile } from '../src/storage/s3-profile.ts';
import { startS3Server } from '../test/helpers/s3-server.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '1024' } } });
const MIB = 1024 * 1024;
const size = Number(values['size-mb']) * MIB;
const work = await mkdtemp(path.join(tmpdir(), 'stepvault-bench-upload-'));
const file = path.join(work, 'dump.bin');

// Random bytes: neither the disk nor the network can compress them away.
const hash = createHash('sha256');
const out = createWriteStream(file);
for (let written = 0; written < size; written += MIB) {
  const chunk = randomBytes(MIB);
  hash.update(chunk);
  if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
}
await new Promise<void>((resolve) => out.end(() => resolve()));
const sha256 = hash.digest('hex');

async function measure(label: string, run: () => Promise<void>): Promise<void> {
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  console.log(
    `${label.padEnd(28)} ${seconds.toFixed(1).padStart(6)} s  ${(size / MIB / seconds).toFixed(0).padStart(5)} MiB/s   RSS ${(baseline / MIB).toFixed(0)} → peak ${(peak / MIB).toFixed(0)} MiB`,
  );
}

const s3 = await startS3Server(['bench']);
try {
  const disk = new FilesystemStorage('disk', { type: 'filesystem', path: path.join(work, 'disk') });
  const bucket = new S3Storage({
    name: 'bench',
    type: 's3',
    profile: s3Profile('bench', { type: 's3', bucket: 'bench', endpoint: s3.endpoint }),
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  console.log(`${(size / MIB).toFixed(0)} MiB of random bytes, SHA-256 checked on the way`);
  await measure('local disk (filesystem)', () => disk.putFile('bench/dump.bin', file, { size, sha256, metadata: {} }));
  await measure('s3rver over HTTP (8 MiB × 4)', () =>
    bucket.putFile('bench/dump.bin', file, { size, sha256, metadata: {} }),
  );
} finally {
  await s3.stop();
  await rm(work, { recursive: true, force: true });
}
