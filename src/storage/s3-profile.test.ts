import { describe, expect, it } from 'vitest';
import { choosePartSize, s3Profile } from './s3-profile.ts';

const MIB = 1024 * 1024;

describe('S3 profiles', () => {
  it('AWS S3: the region from config or AWS_REGION, virtual-host addressing, SHA-256 checksums, SSE and storage class', () => {
    expect(
      s3Profile(
        'primary',
        { type: 's3', bucket: 'acme', sse: 'aws:kms', kmsKeyId: 'alias/backups', storageClass: 'STANDARD_IA' },
        { AWS_REGION: 'eu-west-1' },
      ),
    ).toEqual({
      kind: 'aws',
      bucket: 'acme',
      region: 'eu-west-1',
      forcePathStyle: false,
      checksums: true,
      conditionalWrites: true,
      storageClass: 'STANDARD_IA',
      sse: { mode: 'aws:kms', kmsKeyId: 'alias/backups' },
    });
    expect(() => s3Profile('primary', { type: 's3', bucket: 'acme' }, {})).toThrow(
      'destinations.primary: no region; set region in the config or AWS_REGION',
    );
  });

  it('an S3-compatible endpoint: path-style, and no checksum headers it would reject', () => {
    expect(s3Profile('minio', { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:9000' }, {})).toMatchObject({
      kind: 'compatible',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      checksums: false,
    });
    expect(
      s3Profile(
        'b2',
        {
          type: 's3',
          bucket: 'b',
          endpoint: 'https://s3.eu-central-003.backblazeb2.com',
          forcePathStyle: false,
          region: 'eu-central-003',
        },
        {},
      ),
    ).toMatchObject({
      kind: 'compatible',
      forcePathStyle: false,
      region: 'eu-central-003',
    });
  });

  it('writes conditionally (If-None-Match) unless a compatible store is said not to honour it', () => {
    expect(
      s3Profile('minio', { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:9000' }, {}).conditionalWrites,
    ).toBe(true);
    expect(
      s3Profile('old', { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:9000', conditionalWrites: false }, {})
        .conditionalWrites,
    ).toBe(false);
  });

  it('the SDK’s AWS_ENDPOINT_URL_S3 makes a destination S3-compatible too', () => {
    expect(
      s3Profile('primary', { type: 's3', bucket: 'b' }, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568' }),
    ).toMatchObject({ kind: 'compatible', endpoint: 'http://127.0.0.1:4568', checksums: false });
  });

  it('R2: the endpoint from the account id (and jurisdiction), region auto', () => {
    const base = {
      type: 'r2' as const,
      bucket: 'offsite',
      accountId: '0123456789abcdef0123456789abcdef',
      accessKeyId: 'env:A',
      secretAccessKey: 'env:B',
    };
    expect(s3Profile('offsite', base, {})).toEqual({
      kind: 'r2',
      bucket: 'offsite',
      region: 'auto',
      endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
      forcePathStyle: true,
      checksums: false,
      conditionalWrites: true,
    });
    expect(s3Profile('offsite', { ...base, jurisdiction: 'eu' }, {}).endpoint).toBe(
      'https://0123456789abcdef0123456789abcdef.eu.r2.cloudflarestorage.com',
    );
  });
});

describe('Supabase Storage profile', () => {
  const base = {
    type: 'supabase' as const,
    projectRef: 'abcdefghijklmnopqrst',
    region: 'eu-central-1',
    bucket: 'backups',
    accessKeyId: 'env:A',
    secretAccessKey: 'env:B',
  };

  it('the endpoint from the project ref, the project region, path-style, no checksum headers, a look before writing', () => {
    expect(s3Profile('supa', base, { AWS_ENDPOINT_URL_S3: 'http://ignored.example' })).toEqual({
      kind: 'supabase',
      bucket: 'backups',
      region: 'eu-central-1',
      endpoint: 'https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3',
      forcePathStyle: true,
      checksums: false,
      conditionalWrites: false,
    });
  });

  it('a self-hosted Supabase: the endpoint given replaces the hosted one', () => {
    expect(s3Profile('supa', { ...base, endpoint: 'https://supabase.internal/storage/v1/s3' }, {})).toMatchObject({
      endpoint: 'https://supabase.internal/storage/v1/s3',
      region: 'eu-central-1',
      forcePathStyle: true,
    });
  });
});

describe('part sizes', () => {
  it.each([
    [10 * MIB, undefined, 8 * MIB],
    [50 * 1024 * MIB, undefined, 8 * MIB],
    // 1 TiB must fit in 10,000 parts (with a margin of 100): 106 MiB parts.
    [1024 * 1024 * MIB, undefined, 106 * MIB],
    [10 * MIB, 5, 5 * MIB],
    [200 * 1024 * MIB, 5, 21 * MIB],
  ])('%d bytes, configured %s MiB → %d', (size, configured, expected) => {
    const part = choosePartSize(size, configured);
    expect(part).toBe(expected);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
  });
});
