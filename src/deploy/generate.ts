/**
 * Turns stepvault.config.yml into what serverless.yml deploys: per-function settings and roles,
 * and the CloudFormation resources around them. Adding a database is editing the config and
 * deploying again: its schedule, permissions, alarms and dashboard row follow from here.
 * Everything that cannot work on AWS is refused here, before anything is deployed.
 */
import { isIP } from 'node:net';
import type { Config } from '../config/load.ts';
import type { DeployConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import { functionTimeouts, timedDefinition, timeoutInputs } from '../statemachine/execution-timeout.ts';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { handlerFile, STEPS, type SecretScope, type StepName } from '../steps/table.ts';
import { allow, logsStatement, role, roleLogicalId, VPC_ACCESS, type Resource, type Statement } from './iam.ts';
import { alarms, dashboard } from './monitoring.ts';
import {
  backupBucket,
  lambdaLogicalId,
  lambdaSecurityGroup,
  schedules,
  stagingResources,
  stateMachine,
  STAGING_MOUNT,
  type Resources,
} from './resources.ts';
import { placementOf, type Placement, type Placements } from './placement.ts';
import { pruneRunners, runnerOf, runnersInUse, stepsCalled } from './runners.ts';
import { checkSecretUse, secretResource, secretUses, type SecretUse } from './secrets.ts';

export const SERVICE = 'stepvault';

/** Where the functions' package holds the config (serverless.yml includes it from there). */
export const PACKAGED_CONFIG = 'dist/deploy/stepvault.config.yml';

/** One function as serverless.yml's `functions` block takes it (serverless.yml reads the whole block from here). */
export interface FunctionDeployment {
  name: string;
  handler: string;
  role: string;
  memorySize: number;
  timeout: number;
  layers?: Resource[];
  vpc?: { subnetIds: string[]; securityGroupIds: Resource[] };
  fileSystemConfig?: { localMountPath: string; arn: Resource };
}

export interface Deployment {
  service: string;
  stage: string;
  region: string;
  architecture: 'arm64' | 'x86_64';
  logRetentionDays: number;
  /** Only the functions the runners in use call. */
  functions: Partial<Record<StepName, FunctionDeployment>>;
  environment: Record<string, string>;
  resources: { Resources: Resources; Outputs: Record<string, unknown>; extensions: Resources };
}

export function generateDeployment(config: Config, stage: string, definition: StateMachineDefinition): Deployment {
  const deploy = config.deploy;
  if (!deploy)
    throw new ConfigError(
      'the config has no deploy section: add deploy.region and, as your targets need them, deploy.vpc and deploy.bucket (see stepvault.config.example.yml)',
    );
  if (!/^[a-z0-9-]{1,16}$/.test(stage))
    throw new ConfigError(`stage "${stage}" must be 1-16 lower-case letters, digits or "-"`);
  const runners = runnersInUse(config);
  checkDeployable(config, deploy);
  // Only the branches of the runners in use are deployed, and only the functions they call.
  const runnerDefinition = pruneRunners(definition, runners);
  const steps = stepsCalled(runnerDefinition);
  const network = { staging: runners.has('efs'), vpc: Boolean(deploy.vpc) };
  const placements = Object.fromEntries(steps.map((fn) => [fn, placementOf(fn, network)])) as Placements;
  const inVpc = steps.filter((fn) => placements[fn].vpc);
  const vpc = deploy.vpc;

  const lambdaGroups: Resource[] = vpc?.securityGroupIds ?? [{ Ref: 'LambdaSecurityGroup' }];
  const timeouts = functionTimeouts(config);
  const functions = Object.fromEntries(
    steps.map((fn) => {
      const spec = STEPS[fn];
      const settings: FunctionDeployment = {
        name: `${SERVICE}-${stage}-${fn}`,
        handler: handlerFile(fn).replace(/\.ts$/, '.handler'),
        role: roleLogicalId(fn),
        memorySize: deploy.functions?.[fn]?.memorySize ?? spec.memorySize,
        timeout: timeouts[fn],
        ...(spec.layer && { layers: [{ Ref: 'DbtoolsLambdaLayer' }] }),
        ...(placements[fn].vpc && { vpc: { subnetIds: vpc!.subnetIds, securityGroupIds: lambdaGroups } }),
        ...(placements[fn].staging && {
          fileSystemConfig: { localMountPath: STAGING_MOUNT, arn: { 'Fn::GetAtt': ['StagingAccessPoint', 'Arn'] } },
        }),
      };
      return [fn, settings];
    }),
  ) as Deployment['functions'];
  const functionNames = Object.fromEntries(steps.map((fn) => [fn, functions[fn]!.name]));
  const { resources: scheduleResources, intervals } = schedules(config, stage);
  const monitoring = {
    stage,
    region: deploy.region,
    targets: Object.keys(config.targets),
    intervals,
    ...(deploy.alarmEmail && { alarmEmail: deploy.alarmEmail }),
    functionNames,
    timeouts,
  };

  const Resources: Resources = {
    ...(inVpc.length && !vpc?.securityGroupIds ? lambdaSecurityGroup(vpc!.id) : {}),
    ...(network.staging ? stagingResources(vpc!, lambdaGroups) : {}),
    ...(deploy.bucket ? backupBucket(deploy.bucket) : {}),
    ...scheduleResources,
    // Task and execution timeouts follow the functions' timeouts and the targets this config has.
    ...stateMachine(timedDefinition(runnerDefinition, timeoutInputs(config)), stage, steps),
    ...alarms(monitoring),
    ...dashboard(monitoring),
    ...Object.fromEntries(
      steps.map((fn) => [roleLogicalId(fn), role(fn, policyFor(fn, config, functions[fn]!.name, placements[fn]))]),
    ),
  };
  // A function that mounts EFS must wait for the mount targets, or its creation fails.
  const extensions = Object.fromEntries(
    steps
      .filter((fn) => placements[fn].staging)
      .map((fn) => [lambdaLogicalId(fn), { DependsOn: vpc!.subnetIds.map((_, i) => `StagingMountTarget${i}`) }]),
  );
  return {
    service: SERVICE,
    stage,
    region: deploy.region,
    architecture: deploy.architecture,
    logRetentionDays: deploy.logRetentionDays,
    functions,
    environment: {
      STEPVAULT_CONFIG: PACKAGED_CONFIG,
      STEPVAULT_STAGING: STAGING_MOUNT,
      NODE_OPTIONS: '--enable-source-maps',
    },
    resources: {
      Resources,
      Outputs: {
        StateMachineArn: {
          Description: 'Start executions here (stepvault start, the console, aws stepfunctions start-execution)',
          Value: { Ref: 'BackupStateMachine' },
        },
        DashboardUrl: {
          Value: {
            'Fn::Sub': `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=stepvault-${stage}`,
          },
        },
        AlarmTopicArn: { Value: { Ref: 'AlarmTopic' } },
        ScheduleDeadLetterQueueUrl: { Value: { Ref: 'ScheduleDeadLetterQueue' } },
        ...(deploy.bucket && { BackupBucketName: { Value: { Ref: 'BackupBucket' } } }),
      },
      extensions,
    },
  };
}

/** What cannot work on Lambda, refused with the reason and the fix. */
function checkDeployable(config: Config, deploy: DeployConfig): void {
  if (!deploy.vpc) {
    // A dump that runs on Lambda reaches a private address only from inside the VPC.
    const privateTarget = Object.values(config.targets).find((t) => runnerOf(t) !== 'fargate' && isPrivateHost(t.host));
    if (privateTarget)
      throw new ConfigError(
        `targets.${privateTarget.name}.host ${privateTarget.host} is a private address, which Lambda reaches only inside its VPC: add deploy.vpc with id, subnetIds (one per availability zone) and, optionally, securityGroupIds`,
      );
    const staged = Object.values(config.targets).find((t) => runnerOf(t) === 'efs');
    if (staged)
      throw new ConfigError(
        `targets.${staged.name}.runner efs stages its dumps on EFS, which Lambda reaches only inside a VPC: add deploy.vpc with id, subnetIds (one per availability zone) and, optionally, securityGroupIds, or set runner: lambda`,
      );
  }
  for (const target of Object.values(config.targets)) {
    if (['127.0.0.1', 'localhost', '::1'].includes(target.host)) {
      throw new ConfigError(
        `targets.${target.name}.host ${target.host} is this machine; a deployed target needs an address Lambda can reach`,
      );
    }
    for (const name of target.destinations) {
      if (config.destinations[name]?.type === 'filesystem') {
        throw new ConfigError(
          `destinations.${name} is a folder, which does not outlive a Lambda invocation: target ${target.name} needs an s3 or r2 destination when deployed`,
        );
      }
    }
    for (const name of target.notify) {
      if (config.notifications[name]?.type === 'outbox') {
        throw new ConfigError(
          `notifications.${name} is an outbox folder, which does not outlive a Lambda invocation: use an ses notification for target ${target.name} when deployed`,
        );
      }
    }
  }
  const uses = secretUses(config);
  [...uses.targets.values(), ...uses.destinations.values(), uses.observability, drillSecrets(config)]
    .flat()
    .forEach(checkSecretUse);
}

function isPrivateHost(host: string): boolean {
  if (isIP(host) === 4) return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.|169\.254\.)/.test(host);
  if (isIP(host) === 6) return /^(fc|fd|fe80|::1)/i.test(host);
  return /\.(internal|local|lan|corp)$/i.test(host);
}

function secretStatements(uses: SecretUse[]): Statement[] {
  const grouped = new Map<string, Resource[]>();
  for (const use of uses) {
    const { action, resource } = secretResource(use.reference);
    grouped.set(action, [...(grouped.get(action) ?? []), resource]);
  }
  return [...grouped].flatMap(([action, resources]) => allow(action, dedupe(resources)));
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

/** The S3 statements for the destinations that are used, on their bucket and prefix only. */
function drillSecrets(config: Config): SecretUse[] {
  return Object.values(config.targets).flatMap((t) =>
    t.verify?.drill?.password
      ? [{ where: `targets.${t.name}.verify.drill.password`, reference: t.verify.drill.password }]
      : [],
  );
}

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

/** A function's role, from what its row in the step table says it touches. */
function policyFor(fn: StepName, config: Config, functionName: string, placement: Placement): Statement[] {
  const spec = STEPS[fn];
  const uses = secretUses(config);
  const secrets: Record<SecretScope, SecretUse[]> = {
    targets: [...uses.targets.values()].flat(),
    destinations: [...uses.destinations.values()].flat(),
    drill: drillSecrets(config),
    observability: uses.observability,
  };
  return [
    logsStatement(functionName),
    ...(placement.vpc ? [VPC_ACCESS] : []),
    ...(placement.staging ? [efs(placement.staging === 'write')] : []),
    ...(spec.destinations ? s3Statements(config, spec.destinations) : []),
    ...secretStatements(spec.secrets.flatMap((scope) => secrets[scope])),
    ...(spec.iamAuth ? iamAuthStatements(config) : []),
    ...(spec.notifies ? [...sesStatements(config), ...eventStatements(config)] : []),
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
