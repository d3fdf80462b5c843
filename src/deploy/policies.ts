/**
 * The IAM statements of each step, from what its row in src/steps/table.ts says it touches, on
 * the resources of the targets it serves (src/deploy/served.ts) and nothing else.
 */
import type { Config } from '../config/load.ts';
import { STEPS, type SecretScope, type StepName, type StepSpec } from '../steps/table.ts';
import { withPrefix } from '../backups/naming.ts';
import { allow, logsStatement, VPC_ACCESS, type Resource, type Statement } from './iam.ts';
import type { Placement } from './placement.ts';
import { destinationKey, kmsStatement } from './kms.ts';
import { secretResource, secretUses, type SecretUse } from './secrets.ts';
import { servedBy, type Served, type StepHost } from './served.ts';

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

/**
 * The drill passwords and age identities of the targets (of those served, when given), as secret
 * uses. The identity decrypts every backup of its target: the Verify function is the one place
 * in the deployment that may read it.
 */
export function drillSecrets(config: Config, served?: Served[]): SecretUse[] {
  const targets = served ? served.map((s) => s.target) : Object.values(config.targets);
  return targets.flatMap((t) => {
    const drill = t.verify?.drill;
    const where = `targets.${t.name}.verify.drill`;
    return [
      ...(drill?.password ? [{ where: `${where}.password`, reference: drill.password }] : []),
      ...(drill?.identity ? [{ where: `${where}.identity`, reference: drill.identity }] : []),
    ];
  });
}

/** An s3 destination reached with the role's own identity (no S3-compatible endpoint, no keys given as secrets). */
function reachedByRole(config: Config, name: string): boolean {
  const d = config.destinations[name];
  return d?.type === 's3' && !d.endpoint && !d.accessKeyId;
}

/**
 * The S3 statements of a step on the destinations it touches for the targets it serves: each
 * target's keys only (`<prefix>/<target>/*`), since every key a run writes or reads is under
 * its target's folder (src/backups/naming.ts). A run's own keys (its run id) are known only when
 * it runs, so this is the narrowest IAM can name: one target's backups, not one run's.
 */
function s3Statements(config: Config, served: Served[], actions: NonNullable<StepSpec['destinations']>): Statement[] {
  const folders = new Map<string, string[]>();
  for (const { target, destinations } of served)
    for (const name of destinations)
      if (reachedByRole(config, name))
        folders.set(name, [
          ...new Set([...(folders.get(name) ?? []), withPrefix(config.destinations[name]!.prefix, target.name)]),
        ]);
  const statements: Statement[] = [];
  for (const [name, targetFolders] of folders) {
    const d = config.destinations[name] as { bucket: string; region?: string };
    const bucket = `arn:aws:s3:::${d.bucket}`;
    const objects = targetFolders.map((folder) => `${bucket}/${folder}/*`);
    const list: Statement = {
      Effect: 'Allow',
      Action: ['s3:ListBucket'],
      Resource: bucket,
      Condition: { StringLike: { 's3:prefix': targetFolders.map((folder) => `${folder}/*`) } },
    };
    // Listing open multipart uploads takes no prefix condition; it shows keys and upload ids, never data.
    const uploads: Statement = { Effect: 'Allow', Action: ['s3:ListBucketMultipartUploads'], Resource: bucket };
    const key = destinationKey(config, name);
    if (actions === 'write') {
      // GetObject: the HEAD before each write (never replace) and the source of a server-side copy.
      // DeleteObject: only its own dump whose manifest could not be written (on a versioned bucket a
      // delete marker; no role may delete a version).
      statements.push(
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:DeleteObject'],
          Resource: objects,
        },
        // Without ListBucket a missing key answers 403 to the HEAD, not 404.
        list,
        uploads,
      );
      if (key) statements.push(kmsStatement(key, 'write', d.region));
    } else if (actions === 'abort') {
      // Cleanup finds the run's open multipart uploads and aborts them; it reads and writes nothing.
      statements.push({ Effect: 'Allow', Action: ['s3:AbortMultipartUpload'], Resource: objects }, uploads);
    } else if (actions === 'read') {
      statements.push({ Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects }, list);
      if (key) statements.push(kmsStatement(key, 'read', d.region));
    } else if (actions === 'probe') {
      // Doctor writes a small probe object under the target's folder, reads it back, finds it in the listing and
      // deletes it: what Upload, Verify and Prune do there. It opens no multipart upload.
      statements.push(
        { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], Resource: objects },
        list,
      );
      if (key) statements.push(kmsStatement(key, 'write', d.region));
    } else {
      statements.push({ Effect: 'Allow', Action: ['s3:GetObject', 's3:DeleteObject'], Resource: objects }, list);
      if (key) statements.push(kmsStatement(key, 'read', d.region));
    }
  }
  return statements;
}

/**
 * What a step may do wherever it runs (`host`), from what its row in the step table says it
 * touches, for the targets it serves there (src/deploy/served.ts): their secrets, their
 * destinations' keys, their database's IAM login, notifications. Where it runs adds the rest (a
 * Lambda's logs, network interfaces and staging share; a task's are its execution role's).
 */
export function stepStatements(fn: StepName, config: Config, host: StepHost = 'lambda'): Statement[] {
  const spec: StepSpec = STEPS[fn];
  const served = servedBy(fn, config, host);
  const uses = secretUses(config);
  const secrets: Record<SecretScope, SecretUse[]> = {
    targets: served.flatMap(({ target }) => uses.targets.get(target.name) ?? []),
    destinations: [...new Set(served.flatMap((s) => s.destinations))].flatMap((d) => uses.destinations.get(d) ?? []),
    drill: drillSecrets(config, served),
    observability: uses.observability,
    notifications: uses.notifications,
  };
  return [
    ...(spec.destinations ? s3Statements(config, served, spec.destinations) : []),
    ...secretStatements(spec.secrets.flatMap((scope) => secrets[scope])),
    ...(spec.iamAuth ? iamAuthStatements(served) : []),
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

/**
 * rds-db:connect for the targets with iamAuth, each on its own database user of its own instance
 * or cluster (`rdsResourceId`, which deploying requires with iamAuth).
 */
function iamAuthStatements(served: Served[]): Statement[] {
  const resources = served
    .map(({ target }) => target)
    .filter((t) => t.iamAuth && t.rdsResourceId)
    .map((t) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:rds-db:\${AWS::Region}:\${AWS::AccountId}:dbuser:${t.rdsResourceId}/${t.user!}`,
    }));
  return allow('rds-db:connect', dedupe(resources));
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
