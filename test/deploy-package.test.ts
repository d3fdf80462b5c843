/**
 * `npm run package` offline (no AWS credentials) on a deployable config, and the CloudFormation
 * template it writes, checked: the resources exist, every role reaches only what its step needs,
 * schedules match the config, the definition calls only functions that exist, and the dashboard
 * is valid JSON with a row per target. Bad configs fail packaging with a sentence that says why.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantRows, readmeGrants, tableRows } from '../src/deploy/grants-table.ts';
import { TASK_MARGIN_SECONDS } from '../src/statemachine/execution-timeout.ts';
import {
  taskSubstitutions,
  type StateDefinition,
  type StateMachineDefinition,
} from '../src/statemachine/definition.ts';
import { handlerFile, pascalName, STEP_NAMES, STEPS } from '../src/steps/table.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const fixture = path.join(import.meta.dirname, 'fixtures/deploy.config.yml');
let scratch: string;
let template: {
  // biome-ignore lint/suspicious/noExplicitAny: resource properties are free-form CloudFormation
  Resources: Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
  Outputs: Record<string, unknown>;
};

/** The environment of a machine with no AWS account at all. */
function offlineEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return { ...env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

async function generate(config: string): Promise<{ code: number; stderr: string }> {
  const file = path.join(scratch, `config-${Math.random().toString(16).slice(2)}.yml`);
  await writeFile(file, config);
  try {
    await run(
      process.execPath,
      [path.join(root, 'scripts/generate-deployment.ts'), '--stage', 'ci', '--config', file],
      { env: offlineEnv({ STEPVAULT_LAYER_ARTIFACT: path.join(scratch, 'layer.zip') }) },
    );
    return { code: 0, stderr: '' };
  } catch (error) {
    return { code: (error as { code: number }).code, stderr: (error as { stderr: string }).stderr };
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'stepvault-package-'));
  // The layer's contents do not matter to the template; a stand-in keeps this suite independent
  // of the layer build that another suite runs at the same time.
  await writeFile(path.join(scratch, 'placeholder'), 'layer');
  await run('zip', ['-q', path.join(scratch, 'layer.zip'), 'placeholder'], { cwd: scratch });
  await run('npm', ['run', '-s', 'package', '--', '--stage', 'ci'], {
    cwd: root,
    env: offlineEnv({ STEPVAULT_CONFIG: fixture, STEPVAULT_LAYER_ARTIFACT: path.join(scratch, 'layer.zip') }),
    maxBuffer: 16 * 1024 * 1024,
  });
  template = JSON.parse(
    await readFile(path.join(root, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
  );
}, 300_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const roleOf = (fn: string) =>
  template.Resources[`${fn[0]!.toUpperCase()}${fn.slice(1)}FunctionRole`]!.Properties.Policies[0].PolicyDocument
    .Statement as { Action: string[]; Resource: unknown; Condition?: unknown }[];
const actionsOf = (fn: string) => roleOf(fn).flatMap((s) => s.Action);

/**
 * The modules a bundled function may load, from its entry: every relative specifier of a static
 * import, an export ... from or an import() in each file reached, followed through the files.
 */
async function reachableModules(dir: string, entry: string): Promise<Set<string>> {
  const reached = new Set([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const code = await readFile(path.join(dir, file), 'utf8');
    for (const [, specifier] of code.matchAll(/\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+\.mjs)["']/g)) {
      const target = path.join(path.dirname(file), specifier!);
      if (reached.has(target)) continue;
      reached.add(target);
      queue.push(target);
    }
  }
  return reached;
}
/**
 * The fixture's targets both run on efs (a private address, a name with deploy.vpc): the steps only the
 * lambda and fargate runners call (StreamDump, CollectDump) are not deployed, nor the RDS check (no target
 * uses RDS mode).
 */
const deployedSteps = STEP_NAMES.filter((step) => !['streamDump', 'collectDump', 'checkRdsBackup'].includes(step));

describe('the packaged template', () => {
  it('has the functions on nodejs24.x arm64, the layer on Dump, and EFS and the VPC on the staging steps', () => {
    expect(template.Resources.StreamDumpLambdaFunction).toBeUndefined();
    for (const step of deployedSteps) {
      const fn = pascalName(step);
      const props = template.Resources[`${fn}LambdaFunction`]!.Properties;
      expect(props.Runtime, fn).toBe('nodejs24.x');
      expect(props.Architectures, fn).toEqual(['arm64']);
      expect(props.Role, fn).toEqual({ 'Fn::GetAtt': [`${fn}FunctionRole`, 'Arn'] });
      expect(props.Environment.Variables.STEPVAULT_CONFIG).toBe('dist/deploy/stepvault.config.yml');
    }
    expect(template.Resources.DumpLambdaFunction!.Properties.Layers).toEqual([{ Ref: 'DbtoolsLambdaLayer' }]);
    expect(template.Resources.DumpLambdaFunction!.Properties.MemorySize).toBe(2048);
    expect(template.Resources.VerifyLambdaFunction!.Properties.Layers).toEqual([{ Ref: 'DbtoolsLambdaLayer' }]);
    for (const fn of ['Dump', 'Upload', 'Verify', 'Cleanup']) {
      const props = template.Resources[`${fn}LambdaFunction`]!.Properties;
      expect(props.FileSystemConfigs, fn).toEqual([
        { Arn: { 'Fn::GetAtt': ['StagingAccessPoint', 'Arn'] }, LocalMountPath: '/mnt/staging' },
      ]);
      expect(props.VpcConfig, fn).toEqual({
        SecurityGroupIds: ['sg-0db11111'],
        SubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      });
      expect(template.Resources[`${fn}LambdaFunction`]!.DependsOn, fn).toEqual(
        expect.arrayContaining(['StagingMountTarget0', 'StagingMountTarget1']),
      );
    }
    for (const fn of ['Plan', 'Prune', 'Notify'])
      expect(template.Resources[`${fn}LambdaFunction`]!.Properties.VpcConfig, fn).toBeUndefined();
    expect(template.Resources.DbtoolsLambdaLayer!.Properties).toMatchObject({
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: ['arm64'],
    });
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it('has a private, versioned, TLS-only, KMS-encrypted bucket that cleans up failed uploads', () => {
    const bucket = template.Resources.BackupBucket!.Properties;
    expect(bucket.BucketName).toBe('acme-backups');
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm,
    ).toBe('aws:kms');
    const rules = bucket.LifecycleConfiguration.Rules as {
      AbortIncompleteMultipartUpload?: unknown;
      Transitions?: unknown;
    }[];
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        expect.objectContaining({ Transitions: [{ TransitionInDays: 30, StorageClass: 'GLACIER_IR' }] }),
      ]),
    );
    const [deny] = template.Resources.BackupBucketPolicy!.Properties.PolicyDocument.Statement;
    expect(deny).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
  });

  it('stages on encrypted EFS reachable only from the functions', () => {
    expect(template.Resources.StagingFileSystem!.Properties.Encrypted).toBe(true);
    expect(ofType('AWS::EFS::MountTarget').map(([, r]) => r.Properties.SubnetId)).toEqual([
      'subnet-0aaa1111',
      'subnet-0bbb2222',
    ]);
    expect(template.Resources.StagingSecurityGroup!.Properties.SecurityGroupIngress).toEqual([
      { IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, SourceSecurityGroupId: 'sg-0db11111' },
    ]);
    expect(template.Resources.StagingAccessPoint!.Properties.RootDirectory.Path).toBe('/staging');
    // Its own policy: TLS only, through an access point only, and only principals IAM authorizes.
    const [tls, accessPoint, allow] = template.Resources.StagingFileSystem!.Properties.FileSystemPolicy.Statement;
    expect(tls).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(accessPoint).toMatchObject({
      Effect: 'Deny',
      Condition: { StringNotLike: { 'elasticfilesystem:AccessPointArn': expect.anything() } },
    });
    expect(allow).toMatchObject({
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
      Action: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
    });
    // Each role that mounts it names the one access point.
    for (const fn of ['dump', 'upload', 'verify', 'cleanup'])
      expect(roleOf(fn).find((s) => s.Action.includes('elasticfilesystem:ClientMount'))!.Condition, fn).toEqual({
        StringEquals: { 'elasticfilesystem:AccessPointArn': { 'Fn::GetAtt': ['StagingAccessPoint', 'Arn'] } },
      });
  });

  it('logs the state machine’s failures to its own log group, encrypts the alarm topic, and names the layer per stage', () => {
    const machine = template.Resources.BackupStateMachine!.Properties;
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['StateMachineLogGroup', 'Arn'] } } }],
    });
    expect(machine.TracingConfiguration).toBeUndefined();
    expect(template.Resources.StateMachineLogGroup!.Properties.LogGroupName).toBe(
      '/aws/vendedlogs/states/stepvault-ci-backup',
    );
    expect(template.Resources.AlarmTopic!.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlarmTopicKey' });
    expect(JSON.stringify(template.Resources.AlarmTopicKey!.Properties.KeyPolicy)).toContain(
      'cloudwatch.amazonaws.com',
    );
    expect(template.Resources.DbtoolsLambdaLayer!.Properties.LayerName).toBe('stepvault-ci-dbtools');
  });

  it('schedules each target as the config says, with retries and a dead-letter queue', () => {
    expect(template.Resources.ScheduleOrders!.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Lisbon',
      State: 'ENABLED',
      Target: {
        Arn: { Ref: 'BackupStateMachine' },
        Input: '{"target":"orders"}',
        RetryPolicy: { MaximumRetryAttempts: 3 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ScheduleDeadLetterQueue', 'Arn'] } },
      },
    });
    expect(template.Resources.ScheduleShop!.Properties).toMatchObject({
      ScheduleExpression: 'rate(12 hours)',
      ScheduleExpressionTimezone: 'Europe/Lisbon',
      Target: { Input: '{"target":"shop"}' },
    });
    expect(ofType('AWS::Scheduler::Schedule')).toHaveLength(2);
  });

  it('grants no wildcard action, and wildcard resources only where AWS takes no other: network interfaces, log delivery', () => {
    const roles = [...ofType('AWS::IAM::Role')];
    expect(roles.length).toBeGreaterThanOrEqual(8);
    for (const [name, r] of roles) {
      for (const policy of r.Properties.Policies ?? []) {
        for (const statement of policy.PolicyDocument.Statement as { Action: string[] | string; Resource: unknown }[]) {
          const actions = [statement.Action].flat();
          for (const action of actions) expect(action, name).not.toMatch(/\*/);
          const resources = [statement.Resource].flat();
          // The state machine's log delivery (CloudWatch Logs' delivery actions take only `*`).
          if (resources.includes('*'))
            expect(
              actions.every(
                (a) =>
                  (a.startsWith('ec2:') && /NetworkInterface|DescribeSubnets|PrivateIpAddresses/.test(a)) ||
                  (name === 'StateMachineRole' &&
                    /^logs:(\w+LogDeliver(y|ies)|\w+ResourcePolic(y|ies)|DescribeLogGroups)$/.test(a)),
              ),
              `${name}: ${actions}`,
            ).toBe(true);
        }
      }
      expect(r.Properties.ManagedPolicyArns, name).toBeUndefined();
    }
  });

  it('gives each function only its own needs', () => {
    // Plan reads a destination only for targets on runner auto, which this config has none of.
    expect(actionsOf('plan').sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'ssm:GetParameter',
    ]);
    expect(actionsOf('dump')).toEqual(
      expect.arrayContaining(['elasticfilesystem:ClientWrite', 'ssm:GetParameter', 'ec2:CreateNetworkInterface']),
    );
    expect(actionsOf('dump').some((a) => a.startsWith('s3:'))).toBe(false);
    expect(actionsOf('upload')).toEqual(
      expect.arrayContaining([
        's3:PutObject',
        's3:AbortMultipartUpload',
        'elasticfilesystem:ClientMount',
        'kms:GenerateDataKey',
        'secretsmanager:GetSecretValue',
      ]),
    );
    expect(actionsOf('upload')).not.toContain('elasticfilesystem:ClientWrite');
    expect(actionsOf('upload')).not.toContain('ssm:GetParameter');
    // Each target's own folder under the prefix: every key a run writes is under its target's.
    const targetFolders = ['arn:aws:s3:::acme-backups/db/orders/*', 'arn:aws:s3:::acme-backups/db/shop/*'];
    const upload = roleOf('upload').find((s) => s.Action.includes('s3:PutObject'))!;
    expect(upload.Resource).toEqual(targetFolders);
    // Never replace: a HEAD before each write (404 needs ListBucket), and stale multipart uploads found and aborted.
    expect(roleOf('upload').find((s) => s.Action.includes('s3:ListBucket'))).toMatchObject({
      Resource: 'arn:aws:s3:::acme-backups',
      Condition: { StringLike: { 's3:prefix': ['db/orders/*', 'db/shop/*'] } },
    });
    expect(roleOf('upload').find((s) => s.Action.includes('s3:ListBucketMultipartUploads'))).toMatchObject({
      Resource: 'arn:aws:s3:::acme-backups',
    });
    const list = roleOf('prune').find((s) => s.Action.includes('s3:ListBucket'))!;
    expect(list).toMatchObject({
      Resource: 'arn:aws:s3:::acme-backups',
      Condition: { StringLike: { 's3:prefix': ['db/orders/*', 'db/shop/*'] } },
    });
    expect(actionsOf('prune')).not.toContain('s3:PutObject');
    const secrets = roleOf('plan').find((s) => s.Action.includes('secretsmanager:GetSecretValue'))!;
    // The targets' secrets; no destination's keys (Plan reads a destination only for runner: auto).
    expect(secrets.Resource).toEqual(['arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-db-AbC123']);
    const ses = roleOf('notify').find((s) => s.Action.includes('ses:SendEmail'))!;
    expect(JSON.stringify(ses.Resource)).toContain('identity/backups@acme.example');
    expect(JSON.stringify(ses.Resource)).toContain('identity/acme.example');
    expect(actionsOf('notify')).toEqual(expect.arrayContaining(['events:PutEvents']));
    expect(actionsOf('notify').some((a) => a.startsWith('s3:') || a.startsWith('ssm:'))).toBe(false);
    expect(actionsOf('cleanup').sort()).toEqual([
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
      'elasticfilesystem:ClientMount',
      'elasticfilesystem:ClientWrite',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:AbortMultipartUpload',
      's3:ListBucketMultipartUploads',
      'secretsmanager:GetSecretValue',
    ]);
    // Cleanup aborts the multipart uploads a failed run left open: on the destination's prefix and bucket only.
    expect(roleOf('cleanup').find((s) => s.Action.includes('s3:AbortMultipartUpload'))).toMatchObject({
      Action: ['s3:AbortMultipartUpload'],
      Resource: targetFolders,
    });
    expect(roleOf('cleanup').find((s) => s.Action.includes('s3:ListBucketMultipartUploads'))).toMatchObject({
      Action: ['s3:ListBucketMultipartUploads'],
      Resource: 'arn:aws:s3:::acme-backups',
    });
    const sm = template.Resources.StateMachineRole!.Properties.Policies[0].PolicyDocument.Statement[0];
    expect(sm.Action).toEqual(['lambda:InvokeFunction']);
    expect(sm.Resource).toHaveLength(deployedSteps.length);
    // No target uses RDS mode: no RDS check, with its network access, secrets, S3 read and KMS.
    expect(template.Resources.CheckRdsBackupFunctionRole).toBeUndefined();
    expect(template.Resources.CheckRdsBackupLambdaFunction).toBeUndefined();
    expect(actionsOf('verify')).toEqual(expect.arrayContaining(['s3:GetObject', 'elasticfilesystem:ClientMount']));
    expect(actionsOf('verify')).not.toContain('s3:PutObject');
    expect(actionsOf('verify')).not.toContain('s3:DeleteObject');
  });

  it("is what the README's table of grants says, row for row (npm run grants writes it)", async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    expect(tableRows(readmeGrants(readme))).toEqual(grantRows(template.Resources));
  });

  it('has each function as its row in the table of steps says: layer, VPC, staging share, memory, handler', () => {
    for (const step of deployedSteps) {
      const spec = STEPS[step];
      const resource = template.Resources[`${pascalName(step)}LambdaFunction`]!;
      expect(resource.Properties.Handler, step).toBe(`${handlerFile(step).replace(/\.ts$/, '')}.handler`);
      expect(Boolean(resource.Properties.Layers), step).toBe(spec.layer);
      // This config has deploy.vpc and efs targets: the share's steps and the database's are in the VPC.
      expect(Boolean(resource.Properties.VpcConfig), step).toBe(spec.vpc || Boolean(spec.staging));
      expect(Boolean(resource.Properties.FileSystemConfigs), step).toBe(Boolean(spec.staging));
      expect(Boolean(resource.DependsOn?.includes('StagingMountTarget0')), step).toBe(Boolean(spec.staging));
      // The fixture gives dump 2048 MB; every other function has the table's default.
      expect(resource.Properties.MemorySize, step).toBe(step === 'dump' ? 2048 : spec.memorySize);
    }
  });

  it('bundles each function with the esbuild settings npm run build uses (scripts/serverless/esbuild.cjs)', async () => {
    const settings = createRequire(import.meta.url)('../scripts/serverless/esbuild.cjs') as {
      outputFileExtension: string;
      banner: { js: string };
    };
    for (const step of deployedSteps) {
      const entry = `${handlerFile(step).replace(/\.ts$/, '')}${settings.outputFileExtension}`;
      const { stdout } = await run('unzip', ['-p', path.join(root, '.serverless', `${step}.zip`), entry], {
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(stdout.split('\n')[0], step).toBe(settings.banner.js);
    }
  });

  it('packages each function with its entry file and the chunks it may load, and no other function’s', async () => {
    const chunksOf = new Map<string, Set<string>>();
    for (const step of deployedSteps) {
      const dir = path.join(scratch, 'unzipped', step);
      await mkdir(dir, { recursive: true });
      await run('unzip', ['-q', '-o', path.join(root, '.serverless', `${step}.zip`), '-d', dir]);
      const files = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((f) => f.isFile())
        .map((f) => path.relative(dir, path.join(f.parentPath, f.name)));
      const entry = handlerFile(step).replace(/\.ts$/, '.mjs');
      const reached = await reachableModules(dir, entry);
      // The entry, what it imports (statically or by import()), their source maps, and the config.
      expect(new Set(files), step).toEqual(
        new Set([...reached, ...[...reached].map((file) => `${file}.map`), 'dist/deploy/stepvault.config.yml']),
      );
      chunksOf.set(step, new Set([...reached].filter((file) => file !== entry)));
    }
    // SQL Server's driver is a chunk of Dump's package alone; the SMTP client of Notify's.
    const holding = (pattern: RegExp) =>
      deployedSteps.filter((step) => [...chunksOf.get(step)!].some((file) => pattern.test(path.basename(file))));
    expect(holding(/^mssql-/)).toEqual(['dump']);
    expect(holding(/^(mailer|smtp-transport)-/)).toEqual(['notify']);
  });

  it("gives every Task of the state machine its function's timeout and a margin, so the two never disagree", () => {
    const machine = template.Resources.BackupStateMachine!.Properties;
    const functionOf = (arn: { 'Fn::GetAtt': [string, string] }) =>
      template.Resources[arn['Fn::GetAtt'][0]]!.Properties;
    const substitutions = machine.DefinitionSubstitutions as Record<string, { 'Fn::GetAtt': [string, string] }>;
    const tasks = [...taskSubstitutions(machine.Definition)];
    expect(tasks.length).toBeGreaterThanOrEqual(deployedSteps.length);
    for (const [state, substitution] of tasks) {
      const task = findState(machine.Definition, state)!;
      expect(task.TimeoutSeconds, state).toBe(functionOf(substitutions[substitution]!).Timeout + TASK_MARGIN_SECONDS);
    }
  });

  it('fills the state machine definition only with functions that exist', () => {
    const machine = template.Resources.BackupStateMachine!.Properties;
    const placeholders = new Set([...JSON.stringify(machine.Definition).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(placeholders);
    for (const value of Object.values(machine.DefinitionSubstitutions) as { 'Fn::GetAtt': [string, string] }[]) {
      const [logicalId] = value['Fn::GetAtt'];
      expect(template.Resources[logicalId]?.Type, logicalId).toBe('AWS::Lambda::Function');
    }
    expect(machine.Definition.StartAt).toBe('IsDoctor');
  });

  it('routes a doctor execution (stepvault doctor --stage) to the Doctor function, placed as Dump is', () => {
    const machine = template.Resources.BackupStateMachine!.Properties;
    const definition = machine.Definition as StateMachineDefinition;
    expect(definition.States.IsDoctor).toMatchObject({ Type: 'Choice', Default: 'Plan' });
    expect(JSON.stringify(definition.States.IsDoctor!.Choices)).toContain('"Next":"Doctor"');
    expect(definition.States.Doctor).toMatchObject({ Type: 'Task', Resource: '${DoctorFunctionArn}', End: true });
    expect(machine.DefinitionSubstitutions.DoctorFunctionArn).toEqual({
      'Fn::GetAtt': ['DoctorLambdaFunction', 'Arn'],
    });
    const doctor = template.Resources.DoctorLambdaFunction!.Properties;
    const dump = template.Resources.DumpLambdaFunction!.Properties;
    expect(doctor.VpcConfig).toEqual(dump.VpcConfig);
    expect(doctor.FileSystemConfigs).toEqual(dump.FileSystemConfigs);
    expect(doctor.Layers).toEqual(dump.Layers);
  });

  it('watches every target: alarms to an SNS topic with an e-mail subscription, and a dashboard row each', () => {
    expect(template.Resources.AlarmEmailSubscription!.Properties).toMatchObject({
      Protocol: 'email',
      Endpoint: 'ops@acme.example',
    });
    for (const target of ['Orders', 'Shop']) {
      expect(template.Resources[`BackupFailedAlarm${target}`]!.Properties).toMatchObject({
        Namespace: 'stepvault',
        MetricName: 'BackupFailed',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      });
    }
    // Daily: alarm after 31 hours without a success; every 12 hours: after 16.
    expect(template.Resources.NoRecentBackupAlarmOrders!.Properties).toMatchObject({
      MetricName: 'BackupSucceeded',
      EvaluationPeriods: 31,
      TreatMissingData: 'breaching',
      ComparisonOperator: 'LessThanThreshold',
    });
    expect(template.Resources.NoRecentBackupAlarmShop!.Properties.EvaluationPeriods).toBe(16);
    expect(template.Resources.DumpNearTimeoutAlarm!.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Threshold: 720000,
      Dimensions: [{ Name: 'FunctionName', Value: 'stepvault-ci-dump' }],
    });
    expect(template.Resources.ExecutionsFailedAlarm!.Properties.Namespace).toBe('AWS/States');

    const body = template.Resources.Dashboard!.Properties.DashboardBody['Fn::Sub'] as string;
    const dashboard = JSON.parse(
      body.replace('${BackupStateMachine}', 'arn:aws:states:eu-west-1:123456789012:stateMachine:x'),
    ) as { widgets: { properties: { title?: string } }[] };
    for (const target of ['orders', 'shop'])
      expect(dashboard.widgets.filter((w) => w.properties.title?.startsWith(`${target}:`)).length, target).toBe(4);
    expect(dashboard.widgets.some((w) => w.properties.title === 'Step Functions executions')).toBe(true);
    expect(template.Outputs).toHaveProperty('StateMachineArn');
    expect(template.Outputs).toHaveProperty('DashboardUrl');
  });
});

describe('configs that cannot be deployed', () => {
  const base = () => readFile(fixture, 'utf8');

  it('an invalid cron', async () => {
    const { code, stderr } = await generate((await base()).replace('cron: "0 3 * * ? *"', 'cron: "0 3 * * *"'));
    expect(code).toBe(2);
    expect(stderr).toContain('targets.orders.schedule.cron: "0 3 * * *" has 5 fields; a cron expression has six');
  });

  it('an unknown time zone', async () => {
    const { code, stderr } = await generate(
      (await base()).replace('timezone: Europe/Lisbon }', 'timezone: Europe/Lisbn }'),
    );
    expect(code).toBe(2);
    expect(stderr).toContain('targets.orders.schedule.timezone: is not an IANA time zone');
  });

  it('a private database without VPC settings', async () => {
    const text = (await base()).replace(/ {2}vpc:\n( {4}.*\n)+/, '');
    const { code, stderr } = await generate(text);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'targets.shop.host 10.0.3.17 is a private address, which Lambda reaches only inside its VPC: add deploy.vpc',
    );
  });

  it('secret references Lambda cannot resolve', async () => {
    let result = await generate(
      (await base()).replace('"ssm:/prod/orders/db-password"', '"ssm:prod/orders/db-password"'),
    );
    expect(result.stderr).toContain(
      'targets.orders.password: "ssm:prod/orders/db-password" must name a parameter path starting with "/"',
    );
    result = await generate(
      (await base()).replace('"ssm:/prod/orders/db-password"', '"secretsmanager:orders-db#password"'),
    );
    expect(result.stderr).toContain(
      'targets.orders.password: "secretsmanager:orders-db#password" must be a secret\'s full ARN',
    );
    result = await generate((await base()).replace('"ssm:/prod/orders/db-password"', '"env:ORDERS_PASSWORD"'));
    expect(result.stderr).toContain('targets.orders.password: env:ORDERS_PASSWORD cannot be resolved on Lambda');
    expect(result.code).toBe(2);
  });

  it('surfaces the reason through serverless package too', async () => {
    const file = path.join(scratch, 'bad.yml');
    await writeFile(file, (await base()).replace('cron: "0 3 * * ? *"', 'cron: "0 27 * * ? *"'));
    const failure = await run('npm', ['run', '-s', 'package', '--', '--stage', 'ci'], {
      cwd: root,
      env: offlineEnv({ STEPVAULT_CONFIG: file, STEPVAULT_LAYER_ARTIFACT: path.join(scratch, 'layer.zip') }),
    }).then(
      () => undefined,
      (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
    );
    expect(failure).toContain(
      'stepvault cannot be deployed as configured: bad.yml has a problem: targets.orders.schedule.cron: "0 27 * * ? *": hours "27": "27" is out of range (0-23)',
    );
  });
});

describe('a config whose dumps all run on Lambda, against public databases', () => {
  // biome-ignore lint/suspicious/noExplicitAny: resource properties are free-form CloudFormation
  let lambdaOnly: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };

  beforeAll(async () => {
    // Packaged into a folder of its own: the template above stays where the bundle test reads it.
    const out = path.join(scratch, 'lambda-only');
    await run('npm', ['run', '-s', 'package', '--', '--stage', 'ci', '--package', out], {
      cwd: root,
      env: offlineEnv({
        STEPVAULT_CONFIG: path.join(import.meta.dirname, 'fixtures/deploy-lambda.config.yml'),
        STEPVAULT_LAYER_ARTIFACT: path.join(scratch, 'layer.zip'),
      }),
      maxBuffer: 16 * 1024 * 1024,
    });
    lambdaOnly = JSON.parse(await readFile(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, 300_000);

  it('has no VPC, EFS or ECS resource, and no function in a VPC or on a share', () => {
    const types = Object.values(lambdaOnly.Resources).map((r) => r.Type);
    expect(types.filter((t) => /^AWS::(EC2|EFS|ECS)::/.test(t))).toEqual([]);
    const functions = Object.entries(lambdaOnly.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const [id, fn] of functions) {
      expect(fn.Properties.VpcConfig, id).toBeUndefined();
      expect(fn.Properties.FileSystemConfigs, id).toBeUndefined();
    }
    const statements = JSON.stringify(Object.values(lambdaOnly.Resources).filter((r) => r.Type === 'AWS::IAM::Role'));
    expect(statements).not.toMatch(/"ec2:|"elasticfilesystem:|"ecs:|"iam:PassRole"/);
  });

  it('deploys StreamDump and not Dump, nor the staging and RDS steps only the efs runner calls', () => {
    const ids = Object.keys(lambdaOnly.Resources);
    expect(ids).toContain('StreamDumpLambdaFunction');
    expect(lambdaOnly.Resources.StreamDumpLambdaFunction!.Properties.Layers).toEqual([{ Ref: 'DbtoolsLambdaLayer' }]);
    for (const id of ['DumpLambdaFunction', 'DumpFunctionRole', 'CheckRdsBackupLambdaFunction', 'DumpNearTimeoutAlarm'])
      expect(ids, id).not.toContain(id);
    expect(ids).toContain('StreamDumpNearTimeoutAlarm');
  });

  it('has a state machine with only the lambda branch, naming only functions that exist, its timeouts derived', () => {
    const machine = lambdaOnly.Resources.BackupStateMachine!.Properties;
    const definition = machine.Definition as StateMachineDefinition;
    expect(definition.States.ChooseRunner!.Choices).toEqual([
      expect.objectContaining({ StringEquals: 'lambda', Next: 'StreamDump' }),
    ]);
    for (const state of ['Dump', 'IsRdsBackup', 'WaitForRdsBackup', 'CheckRdsBackup'])
      expect(definition.States, state).not.toHaveProperty(state);
    const placeholders = new Set([...JSON.stringify(definition).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    expect(new Set(Object.keys(machine.DefinitionSubstitutions))).toEqual(placeholders);
    for (const value of Object.values(machine.DefinitionSubstitutions) as { 'Fn::GetAtt': [string, string] }[])
      expect(lambdaOnly.Resources[value['Fn::GetAtt'][0]]?.Type).toBe('AWS::Lambda::Function');
    expect(definition.States.StreamDump!.TimeoutSeconds).toBe(900 + TASK_MARGIN_SECONDS);
    expect(definition.TimeoutSeconds).toBeGreaterThan(900);
    const invoked = lambdaOnly.Resources.StateMachineRole!.Properties.Policies[0].PolicyDocument.Statement[0];
    expect(invoked.Resource).toHaveLength(placeholders.size);
  });
});

/** A state by name, at any depth (the Upload map's iteration too). */
function findState(machine: StateMachineDefinition, name: string): StateDefinition | undefined {
  for (const [key, state] of Object.entries(machine.States)) {
    if (key === name) return state;
    const inner = state.ItemProcessor && findState(state.ItemProcessor, name);
    if (inner) return inner;
  }
  return undefined;
}
