/**
 * A rotated secret is picked up by the next invocation: an S3 destination's provider is built
 * from the keys resolved in that invocation, so a secret that changed value between two
 * invocations gets a new client signing with it (proven against the S3 server, which refuses the
 * old key), and an unchanged one reuses the client already made. No cache key holds the value. Lambda's
 * log sinks, made once per container, send the SEQ key of the invocation, not the first one's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Config } from '../src/config/load.ts';
import type { DestinationConfig } from '../src/config/schema.ts';
import { SecretResolver } from '../src/config/secrets.ts';
import { runtimeFromEnvironment } from '../src/runtime.ts';
import { storageCacheKeys, storageFor } from '../src/storage/registry.ts';
import { startHttpRecorder } from './helpers/http-recorder.ts';
import { S3RVER_KEY, s3Destination, startS3Server, type S3TestServer } from './helpers/s3-server.ts';

let s3: S3TestServer;
const STALE_SECRET = 'STALEKEYBEFOREROTATION';

beforeAll(async () => {
  s3 = await startS3Server(['rotation']);
});

afterAll(async () => {
  delete process.env.STEPVAULT_TEST_ROTATING_SECRET;
  await s3?.stop();
});

function config(): Config {
  // The S3 server checks the access key, not a V4 signature: the key pair rotates as a whole.
  const rotating = 'env:STEPVAULT_TEST_ROTATING_SECRET';
  const destination = s3Destination(s3, 'rotation', { accessKeyId: rotating, secretAccessKey: rotating });
  const destinations = { vault: destination as DestinationConfig };
  return { source: 'secret-rotation', targets: {}, destinations, notifications: {} };
}

/** One invocation: a fresh resolver, as Lambda makes for each. */
function invocation() {
  return storageFor(config(), 'vault', new SecretResolver());
}

describe('an S3 destination whose keys rotate', () => {
  it('signs with the new key in the next invocation, and reuses the client while the key stands', async () => {
    process.env.STEPVAULT_TEST_ROTATING_SECRET = STALE_SECRET;
    const before = await invocation();
    await expect(before.putText('probe.txt', 'before', 'text/plain')).rejects.toThrow(/^destination vault .*cannot/);

    process.env.STEPVAULT_TEST_ROTATING_SECRET = S3RVER_KEY;
    const after = await invocation();
    expect(after).not.toBe(before);
    await after.putText('probe.txt', 'after', 'text/plain');
    expect(await after.head('probe.txt')).toMatchObject({ size: 5 });

    expect(await invocation()).toBe(after);
    expect(storageCacheKeys().join('\n')).not.toContain(STALE_SECRET);
    expect(storageCacheKeys().join('\n')).not.toContain(S3RVER_KEY);
  });
});

describe("a Lambda container's SEQ key that rotates", () => {
  it('is sent as the value of each invocation, though the log sink was made in the first', async () => {
    const seq = await startHttpRecorder();
    const folder = await mkdtemp(path.join(tmpdir(), 'stepvault-rotation-'));
    try {
      const file = path.join(folder, 'stepvault.config.yml');
      await writeFile(
        file,
        stringify({
          destinations: { local: { type: 'filesystem', path: './backups' } },
          targets: {
            orders: {
              engine: 'postgres',
              host: '127.0.0.1',
              database: 'orders',
              user: 'postgres',
              destinations: ['local'],
            },
          },
          observability: { seq: { url: seq.url, apiKey: 'env:STEPVAULT_TEST_ROTATING_SEQ_KEY' } },
        }),
      );
      process.env.STEPVAULT_CONFIG = file;
      for (const key of ['seq-key-before', 'seq-key-after']) {
        process.env.STEPVAULT_TEST_ROTATING_SEQ_KEY = key;
        const runtime = runtimeFromEnvironment();
        runtime.log.info('an invocation');
        await runtime.flush();
      }
      expect(seq.requests.map((r) => r.headers['x-seq-apikey'])).toEqual(['seq-key-before', 'seq-key-after']);
    } finally {
      delete process.env.STEPVAULT_CONFIG;
      delete process.env.STEPVAULT_TEST_ROTATING_SEQ_KEY;
      await seq.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
