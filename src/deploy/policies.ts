/**
 * The IAM statements of each step, from what its row in src/steps/table.ts says it touches, on
 * the resources the config names and nothing else.
 */
import type { Config } from '../config/load.ts';
import { STEPS, type SecretScope, type StepName } from '../steps/table.ts';
import { allow, logsStatement, VPC_ACCESS, type Resource, type Statement } from './iam.ts';
import type { Placement } from './placement.ts';
import { secretResource, secretUses, type SecretUse } from './secrets.ts';

function secretStatements(uses: SecretUse[]): Statement[] {
  const grouped = new Map<string, Resource[]>();
  for (const use of uses) {
    const { action, resource } = secretResource(use.reference);
    grouped.set(action, [...(grouped.get(action) ?? []), resource]);
  }
  return [...grouped].flatMap(([action, resources]) => allow(action, dedupe(resources)));
}

/** Each statement once (the steps of one role may share some). */
export function dedupeStatements(statements: Statement[]): Statement[] {
  const seen = new Set<string>();
  return statements.filter((s) => !seen.has(JSON.stringify(s)) && seen.add(JSON.stringify(s)));
}

function dedupe(resources: Resource[]): Resource[] {
  const seen = new Set<string>();
  return resources.filter((r) => !seen.has(JSON.stringify(r)) && seen.add(JSON.stringify(r)));
}

function efs(write: boolean): Statement {
  return {
    Effect: 'Allow',
    Action: ['elasticfilesystem:ClientMount', ...(write ? ['elasticfilesystem:ClientWrite'] : [])],
    Resource: { 'Fn::GetAtt': ['StagingFileSystem', 'Arn'] },
    Condition: {
      StringEquals: { 'elasticfilesystem:AccessPointArn': { 'Fn::GetAtt': ['StagingAccessPoint', 'Arn'] } },
    },
  };
}

/** The drill passwords of the targets, as secret uses. */
export function drillSecrets(config: Config): SecretUse[] {
  return Object.values(config.targets).flatMap((t) =>
    t.verify?.drill?.password
      ? [{ where: `targets.${t.name}.verify.drill.password`, reference: t.verify.drill.password }]
      : [],
  );
}

/** The S3 statements for the destinations that are used, on their bucket and prefix only. */
function s3Statements(config: Config, actions: 'write' | 'read' | 'prune' | 'abort'): Statement[] {
  const statements: Statement[] = [];
  const used = new Set(Object.values(config.targets).flatMap((t) => t.destinations));
  for (const name of used) {
    const d = config.destinations[name];
    if (d?.type !== 's3') continue; // R2 is reached with its own keys, not IAM
    const prefix = (d.prefix ?? '').replace(/^\/+|\/+$/g, '');
    const objects = `arn:aws:s3:::${d.bucket}/${prefix ? `${prefix}/` : ''}*`;
    if (actions === 'write') {
      statements.push({
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
        Resource: objects,
      });
      // Upload looks before it writes (never replace): without ListBucket a missing key answers 403,
      // not 404. It also finds and aborts the open multipart uploads an earlier attempt left.
      statements.push({
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: `arn:aws:s3:::${d.bucket}`,
        ...(prefix && { Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } }),
      });
      statements.push({
        Effect: 'Allow',
        Action: ['s3:ListBucketMultipartUploads'],
        Resource: `arn:aws:s3:::${d.bucket}`,
      });
    } else if (actions === 'abort') {
      // Cleanup finds the run's open multipart uploads and aborts them; it reads and writes nothing.
      statements.push({ Effect: 'Allow', Action: ['s3:AbortMultipartUpload'], Resource: objects });
      statements.push({
        Effect: 'Allow',
        Action: ['s3:ListBucketMultipartUploads'],
        Resource: `arn:aws:s3:::${d.bucket}`,
      });
      continue; // no KMS: nothing is encrypted or decrypted
    } else if (actions === 'read') {
      statements.push({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects });
    } else {
      statements.push({ Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: objects });
      statements.push({
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: `arn:aws:s3:::${d.bucket}`,
        ...(prefix && { Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } }),
      });
    }
    if (d.sse === 'aws:kms' && d.kmsKeyId) {
      statements.push({
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: d.kmsKeyId.startsWith('arn:')
          ? d.kmsKeyId
          : { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*` },
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Sub': 's3.${AWS::Region}.amazonaws.com' } },
          ...(d.kmsKeyId.startsWith('alias/') && {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [d.kmsKeyId] },
          }),
        },
      });
    }
  }
  return statements;
}

/**
 * What a step may do wherever it runs, from what its row in the step table says it touches:
 * secrets, destinations, the database's IAM login, notifications. Where it runs adds the rest
 * (a Lambda's logs, network interfaces and staging share; a task's are its execution role's).
 */
export function stepStatements(fn: StepName, config: Config): Statement[] {
  const spec = STEPS[fn];
  const uses = secretUses(config);
  const secrets: Record<SecretScope, SecretUse[]> = {
    targets: [...uses.targets.values()].flat(),
    destinations: [...uses.destinations.values()].flat(),
    drill: drillSecrets(config),
    observability: uses.observability,
  };
  return [
    ...(spec.destinations ? s3Statements(config, spec.destinations) : []),
    ...secretStatements(spec.secrets.flatMap((scope) => secrets[scope])),
    ...(spec.iamAuth ? iamAuthStatements(config) : []),
    ...(spec.notifies ? [...sesStatements(config), ...eventStatements(config)] : []),
  ];
}

/** A Lambda function's role: its logs, its place (VPC, staging share), and what its step does. */
export function functionPolicy(fn: StepName, config: Config, functionName: string, placement: Placement): Statement[] {
  return [
    logsStatement(functionName),
    ...(placement.vpc ? [VPC_ACCESS] : []),
    ...(placement.staging ? [efs(placement.staging === 'write')] : []),
    ...stepStatements(fn, config),
  ];
}

/** rds-db:connect for the users of targets with iamAuth (any DB instance: its resource id is not in the config). */
function iamAuthStatements(config: Config): Statement[] {
  const users = [
    ...new Set(
      Object.values(config.targets)
        .filter((t) => t.iamAuth)
        .map((t) => t.user!),
    ),
  ];
  return allow(
    'rds-db:connect',
    users.map((user) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:rds-db:\${AWS::Region}:\${AWS::AccountId}:dbuser:*/${user}`,
    })),
  );
}

function sesStatements(config: Config): Statement[] {
  const identities = new Set<string>();
  const sets = new Set<string>();
  for (const n of Object.values(config.notifications)) {
    if (n.type !== 'ses') continue;
    identities.add(n.from);
    identities.add(n.from.split('@')[1]!);
    if (n.configurationSet) sets.add(n.configurationSet);
  }
  const resources: Resource[] = [
    ...[...identities].map((i) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/${i}`,
    })),
    ...[...sets].map((s) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:configuration-set/${s}`,
    })),
  ];
  return allow('ses:SendEmail', resources);
}

function eventStatements(config: Config): Statement[] {
  const bus = config.events?.bus;
  if (!bus) return [];
  return allow('events:PutEvents', [
    bus.startsWith('arn:')
      ? bus
      : { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${bus}` },
  ]);
}
