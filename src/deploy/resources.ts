/**
 * The CloudFormation resources around the functions: the backup bucket, the EFS staging share,
 * the schedules, the state machine and its role.
 */
import type { Config } from '../config/load.ts';
import type { DeployConfig } from '../config/schema.ts';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { pascalName, substitutionOf, type StepName } from '../steps/table.ts';
import type { Resource, Statement } from './iam.ts';
import { maxIntervalHours, validateSchedule } from './schedule.ts';

export type Resources = Record<string, Record<string, unknown>>;

export const STAGING_MOUNT = '/mnt/staging';

export function logicalName(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function backupBucket(bucket: NonNullable<DeployConfig['bucket']>): Resources {
  return {
    BackupBucket: {
      Type: 'AWS::S3::Bucket',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: bucket.name,
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                ...(bucket.kmsKeyId && { KMSMasterKeyID: bucket.kmsKeyId }),
              },
              BucketKeyEnabled: true,
            },
          ],
        },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'abort-incomplete-multipart-uploads',
              Status: 'Enabled',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
            // Retention deletes by manifests; versioning keeps a deleted backup recoverable this long.
            {
              Id: 'expire-noncurrent-versions',
              Status: 'Enabled',
              NoncurrentVersionExpiration: { NoncurrentDays: bucket.noncurrentVersionDays },
            },
            ...(bucket.transitions?.length
              ? [
                  {
                    Id: 'transitions',
                    Status: 'Enabled',
                    Transitions: bucket.transitions.map((t) => ({
                      TransitionInDays: t.days,
                      StorageClass: t.storageClass,
                    })),
                  },
                ]
              : []),
          ],
        },
      },
    },
    BackupBucketPolicy: {
      Type: 'AWS::S3::BucketPolicy',
      Properties: {
        Bucket: { Ref: 'BackupBucket' },
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'TlsOnly',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [{ 'Fn::GetAtt': ['BackupBucket', 'Arn'] }, { 'Fn::Sub': '${BackupBucket.Arn}/*' }],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      },
    },
  };
}

/** EFS for staging: encrypted, one mount target per subnet, one access point, reachable only from the functions. */
export function stagingResources(vpc: NonNullable<DeployConfig['vpc']>, lambdaSecurityGroups: Resource[]): Resources {
  const resources: Resources = {
    StagingFileSystem: {
      Type: 'AWS::EFS::FileSystem',
      Properties: {
        Encrypted: true,
        PerformanceMode: 'generalPurpose',
        ThroughputMode: 'elastic',
        FileSystemTags: [{ Key: 'Name', Value: 'stepvault-staging' }],
        FileSystemPolicy: stagingFileSystemPolicy(),
      },
    },
    StagingSecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'stepvault staging (EFS): NFS from the stepvault functions only',
        VpcId: vpc.id,
        SecurityGroupIngress: lambdaSecurityGroups.map((group) => ({
          IpProtocol: 'tcp',
          FromPort: 2049,
          ToPort: 2049,
          SourceSecurityGroupId: group,
        })),
      },
    },
    StagingAccessPoint: {
      Type: 'AWS::EFS::AccessPoint',
      Properties: {
        FileSystemId: { Ref: 'StagingFileSystem' },
        PosixUser: { Uid: '1000', Gid: '1000' },
        RootDirectory: { Path: '/staging', CreationInfo: { OwnerUid: '1000', OwnerGid: '1000', Permissions: '0750' } },
      },
    },
  };
  vpc.subnetIds.forEach((subnet, i) => {
    resources[`StagingMountTarget${i}`] = {
      Type: 'AWS::EFS::MountTarget',
      Properties: {
        FileSystemId: { Ref: 'StagingFileSystem' },
        SubnetId: subnet,
        SecurityGroups: [{ Ref: 'StagingSecurityGroup' }],
      },
    };
  });
  return resources;
}

const CLIENT_ACTIONS = [
  'elasticfilesystem:ClientMount',
  'elasticfilesystem:ClientWrite',
  'elasticfilesystem:ClientRootAccess',
];

/**
 * The staging share's own policy. Without one, EFS lets any NFS client that reaches a mount
 * target mount it, as root. With this one: only over TLS; only through an access point; and only
 * principals of this account whose IAM policy allows it (the account as principal defers to IAM:
 * an anonymous NFS client, without IAM authorization, is refused). The functions' roles allow
 * exactly the StagingAccessPoint; this policy cannot name it, nor the roles, because both are
 * created after the file system and name it (a circular dependency CloudFormation refuses), so it
 * names any access point of the account and region.
 */
export function stagingFileSystemPolicy(): Record<string, unknown> {
  const anyAccessPoint = {
    'Fn::Sub': 'arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/fsap-*',
  };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'TlsOnly',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: CLIENT_ACTIONS,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'AccessPointOnly',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: CLIENT_ACTIONS,
        // A mount without an access point has no AccessPointArn, which StringNotLike matches.
        Condition: { StringNotLike: { 'elasticfilesystem:AccessPointArn': anyAccessPoint } },
      },
      {
        Sid: 'IamAuthorizedPrincipalsOfThisAccount',
        Effect: 'Allow',
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
        Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        Condition: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
      },
    ],
  };
}

export function lambdaSecurityGroup(vpcId: string): Resources {
  return {
    LambdaSecurityGroup: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'stepvault functions: outbound to the databases, EFS and AWS APIs',
        VpcId: vpcId,
        SecurityGroupEgress: [{ IpProtocol: '-1', CidrIp: '0.0.0.0/0' }],
      },
    },
  };
}

/** One EventBridge Scheduler schedule per target that has one, with retries and a dead-letter queue. */
export function schedules(config: Config, stage: string): { resources: Resources; intervals: Map<string, number> } {
  const resources: Resources = {
    ScheduleDeadLetterQueue: {
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
    },
    SchedulerRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'EventBridge Scheduler: start the backup state machine, dead-letter what it cannot',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'start-backups',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: ['states:StartExecution'], Resource: [{ Ref: 'BackupStateMachine' }] },
                {
                  Effect: 'Allow',
                  Action: ['sqs:SendMessage'],
                  Resource: [{ 'Fn::GetAtt': ['ScheduleDeadLetterQueue', 'Arn'] }],
                },
              ],
            },
          },
        ],
      },
    },
  };
  const intervals = new Map<string, number>();
  for (const target of Object.values(config.targets)) {
    if (!target.schedule) continue;
    const where = `targets.${target.name}.schedule`;
    const expression = validateSchedule(target.schedule, where);
    intervals.set(target.name, maxIntervalHours(target.schedule, where));
    resources[`Schedule${logicalName(target.name)}`] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: `stepvault-${stage}-${target.name}`,
        Description: `stepvault: back up ${target.name}`,
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: target.schedule.timezone ?? target.timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: target.schedule.enabled === false ? 'DISABLED' : 'ENABLED',
        Target: {
          Arn: { Ref: 'BackupStateMachine' },
          RoleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
          Input: JSON.stringify({ target: target.name }),
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ScheduleDeadLetterQueue', 'Arn'] } },
        },
      },
    };
  }
  return { resources, intervals };
}

/**
 * The logical id serverless gives a function's resource (`<Name>LambdaFunction`, the name with its
 * first letter raised; step names hold only letters). test/deploy-package.test.ts checks it
 * against the packaged template, src/steps/table.test.ts against serverless's own naming.
 */
export function lambdaLogicalId(step: StepName): string {
  return `${pascalName(step)}LambdaFunction`;
}

/** What the state machine calls besides its functions: the substitutions and role statements of the ECS task. */
export interface StateMachineExtras {
  substitutions: Record<string, Resource>;
  statements: Statement[];
}

/** The state machine's execution log and tracing (deploy.stateMachine), and how long the log is kept. */
export interface StateMachineLogging {
  logLevel: 'ERROR' | 'ALL';
  includeExecutionData: boolean;
  tracing: boolean;
  retentionDays: number;
}

/**
 * What the state machine's role needs to deliver its log and traces. CloudWatch Logs' delivery
 * actions and X-Ray's take no resource but `*` (the Step Functions developer guide's policies for
 * logging and for X-Ray say so): the log group itself is named in the state machine.
 */
export const LOG_DELIVERY: Statement = {
  Effect: 'Allow',
  Action: [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ],
  Resource: '*',
};

export const XRAY_TRACING: Statement = {
  Effect: 'Allow',
  Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
  Resource: '*',
};

/**
 * The native state machine resource: the definition as given, its ${…} filled by CloudFormation
 * with the ARNs of `steps`, the functions it calls (and the only ones its role may invoke), and
 * with what `extras` adds for the ECS task.
 */
export function stateMachine(
  definition: StateMachineDefinition,
  stage: string,
  steps: readonly StepName[],
  extras: StateMachineExtras = { substitutions: {}, statements: [] },
  logging: StateMachineLogging = { logLevel: 'ERROR', includeExecutionData: false, tracing: false, retentionDays: 30 },
): Resources {
  const functions = steps.map((step) => ({ 'Fn::GetAtt': [lambdaLogicalId(step), 'Arn'] }));
  return {
    // Under /aws/vendedlogs/: CloudWatch Logs' resource policy for deliveries covers the prefix, not each group.
    StateMachineLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/aws/vendedlogs/states/stepvault-${stage}-backup`,
        RetentionInDays: logging.retentionDays,
      },
    },
    BackupStateMachine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        StateMachineName: `stepvault-${stage}-backup`,
        StateMachineType: 'STANDARD',
        Definition: definition,
        DefinitionSubstitutions: {
          ...Object.fromEntries(
            steps.map((step) => [substitutionOf(step), { 'Fn::GetAtt': [lambdaLogicalId(step), 'Arn'] }]),
          ),
          ...extras.substitutions,
        },
        RoleArn: { 'Fn::GetAtt': ['StateMachineRole', 'Arn'] },
        LoggingConfiguration: {
          Level: logging.logLevel,
          IncludeExecutionData: logging.includeExecutionData,
          Destinations: [
            { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['StateMachineLogGroup', 'Arn'] } } },
          ],
        },
        ...(logging.tracing && { TracingConfiguration: { Enabled: true } }),
      },
    },
    StateMachineRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'stepvault state machine: invoke its own functions, run its own task',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
        },
        Policies: [
          {
            PolicyName: 'invoke-steps',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: functions },
                ...extras.statements,
                LOG_DELIVERY,
                ...(logging.tracing ? [XRAY_TRACING] : []),
              ],
            },
          },
        ],
      },
    },
  };
}
