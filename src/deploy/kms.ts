/**
 * The KMS grants of the roles that read or write SSE-KMS objects: on the key the objects are
 * encrypted with, resolved from how the config names it, and only through S3.
 *
 * S3 asks KMS on the caller's behalf: GenerateDataKey for each object written, and Decrypt for
 * each object read and to complete a multipart upload (S3 decrypts the data key of the parts).
 * It never calls Encrypt. So a writer gets GenerateDataKey and Decrypt, a reader Decrypt alone,
 * a role that only lists, deletes or aborts nothing.
 */
import type { Config } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import type { Resource, Statement } from './iam.ts';

export type KmsUse = 'write' | 'read';

export const KMS_ACTIONS: Record<KmsUse, string[]> = {
  write: ['kms:GenerateDataKey', 'kms:Decrypt'],
  read: ['kms:Decrypt'],
};

const KEY_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/([0-9a-f-]{36}|mrk-[0-9a-f]{32})$/;
const ALIAS_ARN = /^arn:(aws[\w-]*):kms:([a-z0-9-]+):(\d{12}):(alias\/[A-Za-z0-9/_-]+)$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]+$/;

/** What a grant on one key names: the key's ARN, or (an alias) the keys the alias may point at, with a condition. */
export interface KeyGrant {
  resource: Resource;
  /** An alias: any key of the account and region, as long as the alias names it when S3 asks. */
  alias?: string;
}

/**
 * The key `kmsKeyId` names, in `region` (the destination's, or the stack's): a key id becomes
 * its ARN, a key ARN stays; an alias (or alias ARN) grants on the keys of that account and region
 * with a `kms:ResourceAliases` condition, since IAM matches a key's ARN, never an alias's. An AWS
 * managed key (`alias/aws/…`) needs no grant: its key policy lets any principal of the account
 * use it through the service. `where` names the config field in the error.
 */
export function keyGrant(kmsKeyId: string, region: string | undefined, where: string): KeyGrant | undefined {
  if (/^(arn:[^:]+:kms:[^:]+:\d{12}:)?alias\/aws\//.test(kmsKeyId)) return undefined;
  const regionPart = region ?? '${AWS::Region}';
  if (KEY_ID.test(kmsKeyId))
    return { resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:${regionPart}:\${AWS::AccountId}:key/${kmsKeyId}` } };
  if (KEY_ARN.test(kmsKeyId)) return { resource: kmsKeyId };
  const aliasArn = ALIAS_ARN.exec(kmsKeyId);
  if (aliasArn) {
    const [, partition, keyRegion, account, alias] = aliasArn;
    return { resource: `arn:${partition}:kms:${keyRegion}:${account}:key/*`, alias };
  }
  if (ALIAS.test(kmsKeyId))
    return {
      resource: { 'Fn::Sub': `arn:\${AWS::Partition}:kms:${regionPart}:\${AWS::AccountId}:key/*` },
      alias: kmsKeyId,
    };
  throw new ConfigError(
    `${where}: "${kmsKeyId}" is not a KMS key: give a key id (1234abcd-12ab-34cd-56ef-1234567890ab, or mrk-… for a multi-Region key), a key ARN, alias/name, or an alias ARN`,
  );
}

/** The key an s3 destination's objects are encrypted with, if the stack's roles need a grant on it. */
export function destinationKey(config: Config, name: string): KeyGrant | undefined {
  const d = config.destinations[name];
  if (d?.type !== 's3') return undefined;
  if (d.sse === 'aws:kms' && d.kmsKeyId) return keyGrant(d.kmsKeyId, d.region, `destinations.${name}.kmsKeyId`);
  // No sse of its own: S3 applies the bucket's default, the stack's customer-managed key when it created this bucket.
  const bucket = config.deploy?.bucket;
  if (!d.sse && bucket?.kmsKeyId && bucket.name === d.bucket)
    return keyGrant(bucket.kmsKeyId, d.region, 'deploy.bucket.kmsKeyId');
  return undefined;
}

/** One statement per key and use, through S3 in the destination's region only. */
export function kmsStatement(grant: KeyGrant, use: KmsUse, region: string | undefined): Statement {
  return {
    Effect: 'Allow',
    Action: KMS_ACTIONS[use],
    Resource: grant.resource,
    Condition: {
      StringEquals: {
        'kms:ViaService': region ? `s3.${region}.amazonaws.com` : { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' },
      },
      ...(grant.alias && { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [grant.alias] } }),
    },
  };
}
