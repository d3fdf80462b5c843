/**
 * How to talk to an S3-speaking destination. AWS S3, Cloudflare R2 and the S3-compatible rest
 * differ in endpoint, region, addressing and — the trap — checksums: the SDK sends CRC32
 * checksum headers by default, which R2, B2 and other compatible servers reject or store wrongly,
 * so only AWS gets them (as per-part SHA-256, which S3 verifies); the others get checksums only
 * where an API requires one, and stepvault checks the bytes itself.
 */
import type { R2DestinationConfig, S3DestinationConfig, SupabaseDestinationConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';

export type S3Kind = 'aws' | 'r2' | 'supabase' | 'compatible';

export interface S3Profile {
  kind: S3Kind;
  bucket: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  /** Send SHA-256 checksums for S3 to verify (AWS only). */
  checksums: boolean;
  /**
   * The store refuses a write with `If-None-Match: *` when the key exists (AWS S3 and R2 do, on
   * PutObject and CompleteMultipartUpload). Without it stepvault checks with a HEAD first.
   */
  conditionalWrites: boolean;
  storageClass?: string;
  sse?: { mode: 'AES256' | 'aws:kms'; kmsKeyId?: string };
}

const MIB = 1024 * 1024;
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MIB;
const DEFAULT_PART = 8 * MIB;

export function s3Profile(
  name: string,
  destination: S3DestinationConfig | R2DestinationConfig | SupabaseDestinationConfig,
  env: NodeJS.ProcessEnv = process.env,
): S3Profile {
  if (destination.type === 'supabase') return supabaseProfile(destination);
  if (destination.type === 'r2') {
    const zone = destination.jurisdiction ? `.${destination.jurisdiction}` : '';
    return {
      kind: 'r2',
      bucket: destination.bucket,
      region: 'auto',
      endpoint: `https://${destination.accountId}${zone}.r2.cloudflarestorage.com`,
      forcePathStyle: true,
      checksums: false,
      conditionalWrites: true,
      ...(destination.storageClass && { storageClass: destination.storageClass }),
    };
  }
  // The SDK's own variables reach local servers (s3rver, MinIO) without a config change.
  const endpoint = destination.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = destination.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined);
  if (!region) throw new ConfigError(`destinations.${name}: no region; set region in the config or AWS_REGION`);
  return {
    kind: endpoint ? 'compatible' : 'aws',
    bucket: destination.bucket,
    region,
    ...(endpoint && { endpoint }),
    // Most compatible servers (MinIO, s3rver) only understand path-style addressing.
    forcePathStyle: destination.forcePathStyle ?? Boolean(endpoint),
    checksums: !endpoint,
    // MinIO and most compatible servers honour If-None-Match; one that ignores it is set to false.
    conditionalWrites: destination.conditionalWrites ?? true,
    ...(destination.storageClass && { storageClass: destination.storageClass }),
    ...(destination.sse && {
      sse: { mode: destination.sse, ...(destination.kmsKeyId && { kmsKeyId: destination.kmsKeyId }) },
    }),
  };
}

/**
 * Supabase Storage's S3 endpoint is https://<ref>.storage.supabase.co/storage/v1/s3, in the
 * project's region, path-style only (the bucket is a path segment after the /s3 root). Its
 * compatibility table marks the x-amz-checksum-* headers unsupported, so the SDK sends none it
 * is not made to; and it does not document If-None-Match on writes, so a HEAD before each write
 * guards the key (the run's own key makes the window a retry of the same run).
 */
function supabaseProfile(destination: SupabaseDestinationConfig): S3Profile {
  return {
    kind: 'supabase',
    bucket: destination.bucket,
    region: destination.region,
    endpoint: destination.endpoint ?? `https://${destination.projectRef}.storage.supabase.co/storage/v1/s3`,
    forcePathStyle: true,
    checksums: false,
    conditionalWrites: false,
  };
}

/**
 * The part size for a multipart upload: at least 8 MiB (or what the config asks), and large
 * enough that the file fits in S3's 10,000 parts, in whole MiB.
 */
export function choosePartSize(fileSize: number, configuredMB?: number): number {
  const wanted = configuredMB ? configuredMB * MIB : DEFAULT_PART;
  const needed = Math.ceil(fileSize / (MAX_PARTS - 100) / MIB) * MIB;
  return Math.max(wanted, needed, MIN_PART);
}
