/**
 * Turns stepvault.config.yml into what serverless.yml deploys: per-function settings and roles,
 * and the CloudFormation resources around them. Adding a database is editing the config and
 * deploying again: its schedule, permissions, alarms and dashboard row follow from here.
 * Everything that cannot work on AWS is refused here, before anything is deployed.
 */
import type { Config } from '../config/load.ts';
import type { DeployConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import { functionTimeouts, timedDefinition, timeoutInputs } from '../statemachine/execution-timeout.ts';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { handlerFile, STEPS, type StepName } from '../steps/table.ts';
import { role, roleLogicalId, type Resource } from './iam.ts';
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
import { placementOf, type Placements } from './placement.ts';
import { fargateDeployment, stepsRunByTasks } from './fargate.ts';
import { dedupeStatements, drillSecrets, functionPolicy, stepStatements } from './policies.ts';
import { pruneRunners, pruneServerWrites, runnersInUse, stepsCalled, usesServerWrites } from './runners.ts';
import { privateHost } from '../runners/default.ts';
import { keyGrant } from './kms.ts';
import { checkSecretUse, secretUses } from './secrets.ts';

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
  /** The dbtools layer's name: one per stage, so two stages in one account never publish versions of one layer. */
  layerName: string;
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
  // Nor the RDS polling loop (and its function) when no target's server writes its own backup.
  const runnerDefinition = pruneServerWrites(pruneRunners(definition, runners), usesServerWrites(config));
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
  const fargate = runners.has('fargate')
    ? fargateDeployment({
        config,
        deploy,
        stage,
        definition: runnerDefinition,
        taskStatements: dedupeStatements(
          stepsRunByTasks(runnerDefinition).flatMap((fn) => stepStatements(fn, config, 'task')),
        ),
      })
    : undefined;
  const monitoring = {
    stage,
    region: deploy.region,
    targets: Object.keys(config.targets),
    sizeAlerts: Object.values(config.targets)
      .filter((t) => t.alerts?.sizeChangePercent !== undefined)
      .map((t) => t.name),
    intervals,
    ...(deploy.alarmEmail && { alarmEmail: deploy.alarmEmail }),
    ...(deploy.alarmTopicKmsKeyId && { alarmTopicKmsKeyId: deploy.alarmTopicKmsKeyId }),
    functionNames,
    timeouts,
  };

  const Resources: Resources = {
    ...(inVpc.length && !vpc?.securityGroupIds ? lambdaSecurityGroup(vpc!.id) : {}),
    ...(network.staging ? stagingResources(vpc!, lambdaGroups) : {}),
    ...(deploy.bucket ? backupBucket(deploy.bucket) : {}),
    ...scheduleResources,
    // Task and execution timeouts follow the functions' timeouts and the targets this config has.
    ...(fargate?.resources ?? {}),
    ...stateMachine(
      timedDefinition(runnerDefinition, timeoutInputs(config)),
      stage,
      steps,
      { substitutions: fargate?.substitutions ?? {}, statements: fargate?.stateMachineStatements ?? [] },
      { ...deploy.stateMachine, retentionDays: deploy.logRetentionDays },
    ),
    ...alarms(monitoring),
    ...dashboard(monitoring),
    ...Object.fromEntries(
      steps.map((fn) => [roleLogicalId(fn), role(fn, functionPolicy(fn, config, functions[fn]!.name, placements[fn]))]),
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
    layerName: `${SERVICE}-${stage}-dbtools`,
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
    // The same rule that keeps such a host on efs by default (src/runners/default.ts); fargate has its own network.
    for (const target of Object.values(config.targets)) {
      // A host inside a connection URL is a secret the deployment does not read.
      const privacy = target.runner === 'fargate' || target.host === undefined ? undefined : privateHost(target.host);
      if (privacy)
        throw new ConfigError(
          `targets.${target.name}.host ${target.host} is ${privacy}, which Lambda reaches only inside its VPC: add deploy.vpc with id, subnetIds (one per availability zone) and, optionally, securityGroupIds`,
        );
    }
    const staged = Object.values(config.targets).find((t) => t.runner === 'efs');
    if (staged)
      throw new ConfigError(
        `targets.${staged.name}.runner efs stages its dumps on EFS, which Lambda reaches only inside a VPC: add deploy.vpc with id, subnetIds (one per availability zone) and, optionally, securityGroupIds, or set runner: lambda`,
      );
  }
  for (const target of Object.values(config.targets)) {
    if (target.host !== undefined && ['127.0.0.1', 'localhost', '::1'].includes(target.host)) {
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
  [
    ...uses.targets.values(),
    ...uses.destinations.values(),
    uses.observability,
    uses.notifications,
    drillSecrets(config),
  ]
    .flat()
    .forEach(checkSecretUse);
  for (const target of Object.values(config.targets)) {
    if (target.iamAuth && !target.rdsResourceId)
      throw new ConfigError(
        `targets.${target.name}.iamAuth: deploying needs targets.${target.name}.rdsResourceId, the resource id of the RDS instance (db-…, aws rds describe-db-instances --query "DBInstances[].DbiResourceId") or Aurora cluster (cluster-…, DbClusterResourceId) the role may log in to`,
      );
  }
  // Each KMS key named resolves to what a grant names, or is refused here.
  for (const [name, d] of Object.entries(config.destinations))
    if (d.type === 's3' && d.kmsKeyId) keyGrant(d.kmsKeyId, d.region, `destinations.${name}.kmsKeyId`);
  if (deploy.bucket?.kmsKeyId) keyGrant(deploy.bucket.kmsKeyId, undefined, 'deploy.bucket.kmsKeyId');
  if (deploy.alarmTopicKmsKeyId) keyGrant(deploy.alarmTopicKmsKeyId, undefined, 'deploy.alarmTopicKmsKeyId');
}
