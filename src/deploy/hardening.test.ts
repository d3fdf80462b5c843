/**
 * What surrounds the roles, generated: the staging share's own policy, the state machine's log
 * and tracing, the alarm topic's encryption, the layer's name per stage, and the configs refused.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readDefinition } from '../statemachine/definition.ts';
import { generateDeployment } from './generate.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation resources are free-form
type Resources = Record<string, { Type: string; DeletionPolicy?: string; Properties: Record<string, any> }>;

const deploy = (text: string, stage = 'ci') =>
  generateDeployment(parseConfig(text, '/x/stepvault.config.yml', '/x'), stage, readDefinition());
const resourcesOf = (text: string) => deploy(text).resources.Resources as Resources;
const withDeploy = (lines: string) => fixture.replace('  functions:\n', `${lines}  functions:\n`);

describe('the staging share', () => {
  it('has a policy: TLS only, through an access point only, IAM-authorized principals of the account only', () => {
    const policy = resourcesOf(fixture).StagingFileSystem!.Properties.FileSystemPolicy;
    const [tls, accessPoint, allow] = policy.Statement;
    expect(tls).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(tls.Action).toEqual(
      expect.arrayContaining(['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite']),
    );
    expect(accessPoint).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Condition: {
        StringNotLike: {
          'elasticfilesystem:AccessPointArn': {
            'Fn::Sub': 'arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/fsap-*',
          },
        },
      },
    });
    // The account as principal defers to IAM: an NFS client without IAM authorization is anonymous, and refused.
    expect(allow).toEqual({
      Sid: 'IamAuthorizedPrincipalsOfThisAccount',
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
      Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
      Condition: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
    });
    expect(policy.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow')).toHaveLength(1);
  });
});

describe('the state machine’s log and tracing', () => {
  it('logs errors to its own log group, without execution data, kept as long as the functions’ logs', () => {
    const resources = resourcesOf(fixture);
    expect(resources.StateMachineLogGroup!.Properties).toEqual({
      LogGroupName: '/aws/vendedlogs/states/stepvault-ci-backup',
      RetentionInDays: 30,
    });
    const machine = resources.BackupStateMachine!.Properties;
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['StateMachineLogGroup', 'Arn'] } } }],
    });
    expect(machine).not.toHaveProperty('TracingConfiguration');
    const statements = JSON.stringify(resources.StateMachineRole!.Properties.Policies[0].PolicyDocument.Statement);
    expect(statements).toContain('logs:CreateLogDelivery');
    expect(statements).not.toContain('xray:');
  });

  it('logs everything and traces with X-Ray when deploy.stateMachine says so', () => {
    const resources = resourcesOf(
      withDeploy('  stateMachine: { logLevel: ALL, includeExecutionData: true, tracing: true }\n'),
    );
    const machine = resources.BackupStateMachine!.Properties;
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    const statements = resources.StateMachineRole!.Properties.Policies[0].PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Effect: 'Allow',
      Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
      Resource: '*',
    });
  });

  it('refuses a level that would not record a failure', () => {
    expect(() => deploy(withDeploy('  stateMachine: { logLevel: FATAL }\n'))).toThrow(
      'deploy.stateMachine.logLevel: "FATAL" (a string) is not allowed; use one of "ERROR", "ALL"',
    );
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a key of the stack’s own that CloudWatch alarms may use', () => {
    const resources = resourcesOf(fixture);
    expect(resources.AlarmTopic!.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    const key = resources.AlarmTopicKey!;
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual({
      Sid: 'CloudWatchAlarmsPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
  });

  it('uses the configured key instead, and refuses an AWS managed one', () => {
    const arn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const resources = resourcesOf(withDeploy(`  alarmTopicKmsKeyId: ${arn}\n`));
    expect(resources.AlarmTopic!.Properties.KmsMasterKeyId).toBe(arn);
    expect(resources).not.toHaveProperty('AlarmTopicKey');
    expect(() => deploy(withDeploy('  alarmTopicKmsKeyId: alias/aws/sns\n'))).toThrow(
      'deploy.alarmTopicKmsKeyId: cannot be an AWS managed key: its key policy does not let CloudWatch alarms publish to the topic',
    );
    expect(() => deploy(withDeploy('  alarmTopicKmsKeyId: my-key\n'))).toThrow(
      'deploy.alarmTopicKmsKeyId: "my-key" is not a KMS key',
    );
  });
});

describe('the layer', () => {
  it('is named per stage, so two stages in one account do not share it', () => {
    expect(deploy(fixture, 'ci').layerName).toBe('stepvault-ci-dbtools');
    expect(deploy(fixture, 'prod').layerName).toBe('stepvault-prod-dbtools');
  });
});
