/**
 * S3, R2 and any S3-compatible store as a destination. Uploads stream from staging through
 * @aws-sdk/lib-storage (multipart, several parts in flight, aborted on failure so no orphan
 * parts stay behind), while the bytes read are hashed: what was sent must be what was dumped.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ChecksumMismatchError, ConfigError, StorageError } from '../errors.ts';
import { DigestStream } from '../dumpers/stream.ts';
import { choosePartSize, type S3Profile } from './s3-profile.ts';
import type { ObjectInfo, PutFileOptions, StorageProvider } from './types.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3StorageOptions {
  name: string;
  type: 's3' | 'r2';
  profile: S3Profile;
  credentials?: S3Credentials;
  partSizeMB?: number;
  concurrency?: number;
  /** A client to use instead of one built from the profile (tests of error paths). */
  client?: S3Client;
}

export class S3Storage implements StorageProvider {
  readonly name: string;
  readonly type: 's3' | 'r2';
  private readonly profile: S3Profile;
  private readonly client: S3Client;
  private readonly options: S3StorageOptions;

  constructor(options: S3StorageOptions) {
    this.name = options.name;
    this.type = options.type;
    this.profile = options.profile;
    this.options = options;
    this.client = options.client ?? createClient(options.profile, options.credentials);
  }

  locate(key: string): string {
    return `${this.type === 'r2' ? 'r2' : 's3'}://${this.profile.bucket}/${key}`;
  }

  async putFile(key: string, file: string, options: PutFileOptions): Promise<void> {
    const digest = new DigestStream();
    const body = createReadStream(file).pipe(digest);
    const upload = new Upload({
      client: this.client,
      params: { ...this.objectParams(key, options.contentType ?? 'application/octet-stream', options.metadata), Body: body },
      partSize: choosePartSize(options.size, this.options.partSizeMB),
      queueSize: this.options.concurrency ?? 4,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      throw this.failure('upload', key, error);
    }
    // The bytes that went out must be the bytes that were dumped, and all of them must be there.
    const sent = { size: digest.bytes, sha256: digest.hex() };
    const stored = await this.head(key);
    if (sent.sha256 !== options.sha256 || sent.size !== options.size || stored?.size !== options.size) {
      await this.delete(key).catch(() => undefined);
      throw new ChecksumMismatchError(
        `${this.name}: sent ${sent.size} bytes (SHA-256 ${sent.sha256}), stored ${stored?.size ?? 'nothing'}; expected ${options.size} bytes with ${options.sha256}`,
      );
    }
  }

  async putText(key: string, body: string, contentType: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ ...this.objectParams(key, contentType, {}), Body: body }));
    } catch (error) {
      throw this.failure('write', key, error);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const result = await this.client.send(new HeadObjectCommand({ Bucket: this.profile.bucket, Key: key }));
      return { key, size: result.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure('read', key, error);
    }
  }

  async get(key: string): Promise<Readable | undefined> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.profile.bucket, Key: key }));
      return result.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure('read', key, error);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.profile.bucket, Prefix: prefix, ...(token && { ContinuationToken: token }) }));
      } catch (error) {
        throw this.failure('list', prefix, error);
      }
      for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, size: object.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.profile.bucket, Key: key }));
    } catch (error) {
      throw this.failure('delete', key, error);
    }
  }

  private objectParams(key: string, contentType: string, metadata: Record<string, string>): PutObjectCommandInput {
    const { profile } = this;
    return {
      Bucket: profile.bucket,
      Key: key,
      ContentType: contentType,
      Metadata: metadata,
      ...(profile.checksums && { ChecksumAlgorithm: 'SHA256' }),
      ...(profile.storageClass && { StorageClass: profile.storageClass as PutObjectCommandInput['StorageClass'] }),
      ...(profile.sse && { ServerSideEncryption: profile.sse.mode, ...(profile.sse.kmsKeyId && { SSEKMSKeyId: profile.sse.kmsKeyId }) }),
    };
  }

  private failure(action: string, key: string, error: unknown): Error {
    const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
    const where = `destination ${this.name} (${this.locate(key)})`;
    const detail = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
    if (e.name === 'NoSuchBucket') return new ConfigError(`${where}: bucket ${this.profile.bucket} does not exist; create it or fix destinations.${this.name}.bucket`, { cause: error });
    if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled', 'InvalidBucketName'].includes(e.name ?? '')) {
      return new ConfigError(`${where}: cannot ${action}: ${detail}; check the credentials and permissions of destinations.${this.name}`, { cause: error });
    }
    return new StorageError(`${where}: cannot ${action}: ${detail}`, { cause: error });
  }
}

function createClient(profile: S3Profile, credentials: S3Credentials | undefined): S3Client {
  return new S3Client({
    region: profile.region,
    ...(profile.endpoint && { endpoint: profile.endpoint }),
    forcePathStyle: profile.forcePathStyle,
    ...(credentials && { credentials }),
    requestChecksumCalculation: profile.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: profile.checksums ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}
