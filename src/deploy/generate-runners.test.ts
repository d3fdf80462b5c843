/**
 * The deployment per runner, generated (test/deploy-runners.test.ts packages it with serverless):
 * the fargate runner's cluster, task definition, roles and network, and the state machine's
 * ECS integration naming what exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../config/load.ts';
import { readDefinition, type StateMachineDefinition } from '../statemachine/definition.ts';
import { TASK_SUBSTITUTIONS } from '../task/contract.ts';
import { generateDeployment } from './generate.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/stepvault:1.4.0';

/** The config with each named target on its runner; `fargate` sets a target's task options. */
function config(
  text: string,
  runners: Record<string, string>,
  fargate?: Record<string, Record<string, number>>,
): Config {
  let withRunners = text;
  for (const [name, runner] of Object.entries(runners))
    withRunners = withRunners.replace(`\n  ${name}:\n`, `\n  ${name}:\n    runner: ${runner}\n`);
  const parsed = parseConfig(withRunners, '/x/stepvault.config.yml', '/x');
  for (const [name, options] of Object.entries(fargate ?? {}))
    Object.assign(parsed.targets[name]!, { fargate: options });
  return parsed;
}

const withFargate = (extra = '') =>
  fixture.replace('  functions:\n', `  fargate: { image: "${IMAGE}"${extra} }\n  functions:\n`);

/** The workflow with a branch per runner: the file's own when it has them, else the shape they take. */
function definition(): StateMachineDefinition {
  const machine = structuredClone(readDefinition());
  if (!machine.States.ChooseRunner) {
    machine.States.Plan!.Next = 'ChooseRunner';
    machine.States.ChooseRunner = {
      Type: 'Choice',
      Choices: [{ Variable: '$.plan.runner', StringEquals: 'efs', Next: 'Dump' }],
      Default: 'DumpFailed',
    };
  }
  if (!machine.States.FargateDump) {
    (machine.States.ChooseRunner.Choices as unknown[]).push({
      Variable: '$.plan.runner',
      StringEquals: 'fargate',
      Next: 'FargateDump',
    });
    machine.States.FargateDump = {
      Type: 'Task',
      Resource: 'arn:aws:states:::ecs:runTask.sync',
      Parameters: {
        Cluster: `\${${TASK_SUBSTITUTIONS.cluster}}`,
        TaskDefinition: `\${${TASK_SUBSTITUTIONS.taskDefinition}}`,
        LaunchType: 'FARGATE',
        Overrides: {
          ContainerOverrides: [{ Name: 'stepvault', Environment: [{ Name: 'STEPVAULT_STEP', Value: 'streamDump' }] }],
        },
      },
      TimeoutSeconds: 7200,
      Next: 'Upload',
    };
  }
  return machine;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation resources are free-form
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const generated = (c: Config) => generateDeployment(c, 'ci', definition());
const resourcesOf = (c: Config) => generated(c).resources.Resources as Resources;
const statementsOf = (resources: Resources, role: string) =>
  resources[role]!.Properties.Policies[0].PolicyDocument.Statement as {
    Action: string[];
    Resource: unknown;
    Condition?: unknown;
  }[];

describe('the fargate runner', () => {
  const fargateOnly = () =>
    resourcesOf(
      config(
        withFargate(),
        { orders: 'fargate', shop: 'fargate' },
        { shop: { cpu: 2048, memory: 8192, ephemeralStorageGiB: 100 } },
      ),
    );

  it('gets a cluster, a task definition of the largest size asked for, on the architecture, with its log group', () => {
    const resources = fargateOnly();
    expect(resources.DumpTaskCluster).toMatchObject({
      Type: 'AWS::ECS::Cluster',
      Properties: { ClusterName: 'stepvault-ci' },
    });
    expect(resources.DumpTaskDefinition!.Properties).toMatchObject({
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      Cpu: '2048',
      Memory: '8192',
      EphemeralStorage: { SizeInGiB: 100 },
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      TaskRoleArn: { 'Fn::GetAtt': ['DumpTaskRole', 'Arn'] },
      ExecutionRoleArn: { 'Fn::GetAtt': ['DumpTaskExecutionRole', 'Arn'] },
    });
    const [container] = resources.DumpTaskDefinition!.Properties.ContainerDefinitions;
    expect(container).toMatchObject({
      Name: 'stepvault',
      Image: IMAGE,
      LogConfiguration: { LogDriver: 'awslogs', Options: { 'awslogs-group': { Ref: 'DumpTaskLogGroup' } } },
    });
    expect(resources.DumpTaskLogGroup!.Properties.RetentionInDays).toBe(30);
    const x86 = resourcesOf(
      config(withFargate().replace('architecture: arm64', 'architecture: x86_64'), {
        orders: 'fargate',
        shop: 'fargate',
      }),
    );
    expect(x86.DumpTaskDefinition!.Properties.RuntimePlatform.CpuArchitecture).toBe('X86_64');
    expect(x86.DumpTaskDefinition!.Properties).toMatchObject({ Cpu: '1024', Memory: '2048' });
    expect(x86.DumpTaskDefinition!.Properties).not.toHaveProperty('EphemeralStorage');
  });

  it("gives the task role what the step it runs does, and no network, staging or log access (the execution role's)", () => {
    const task = statementsOf(fargateOnly(), 'DumpTaskRole');
    const actions = task.flatMap((s) => s.Action).sort();
    // streamDump: its database's secrets and the writes of the destination it streams into (the first required one,
    // the s3 one; not the optional R2 copy, whose keys Upload reads).
    expect(actions).toEqual(
      [
        'kms:Decrypt',
        'kms:GenerateDataKey',
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
        'secretsmanager:GetSecretValue',
        'ssm:GetParameter',
      ].sort(),
    );
    expect(task.find((s) => s.Action.includes('ssm:GetParameter'))!.Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/prod/orders/db-password' },
    ]);
    // Each target's own folder under the prefix, not the prefix: every key a run writes is under its target's.
    expect(task.find((s) => s.Action.includes('s3:PutObject'))!.Resource).toEqual([
      'arn:aws:s3:::acme-backups/db/orders/*',
      'arn:aws:s3:::acme-backups/db/shop/*',
    ]);
    expect(task.find((s) => s.Action.includes('secretsmanager:GetSecretValue'))!.Resource).toEqual([
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-db-AbC123',
    ]);
  });

  it('gives the execution role the pull from its one ECR repository and the writes to its log group, nothing else', () => {
    expect(statementsOf(fargateOnly(), 'DumpTaskExecutionRole')).toEqual([
      { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:eu-west-1:123456789012:repository/stepvault' },
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': ['DumpTaskLogGroup', 'Arn'] },
      },
    ]);
    const trust = fargateOnly().DumpTaskRole!.Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
  });

  it("lets the state machine run that task definition on that cluster, pass those two roles, and .sync's rule", () => {
    const statements = statementsOf(fargateOnly(), 'StateMachineRole');
    expect(statements.find((s) => s.Action.includes('ecs:RunTask'))).toEqual({
      Effect: 'Allow',
      Action: ['ecs:RunTask'],
      Resource: { Ref: 'DumpTaskDefinition' },
      Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': ['DumpTaskCluster', 'Arn'] } } },
    });
    expect(statements.find((s) => s.Action.includes('ecs:StopTask'))).toMatchObject({
      Action: ['ecs:StopTask', 'ecs:DescribeTasks'],
      Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/stepvault-ci/*' },
    });
    expect(statements.find((s) => s.Action.includes('events:PutRule'))).toMatchObject({
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule',
      },
    });
    expect(statements.find((s) => s.Action.includes('iam:PassRole'))).toEqual({
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [{ 'Fn::GetAtt': ['DumpTaskRole', 'Arn'] }, { 'Fn::GetAtt': ['DumpTaskExecutionRole', 'Arn'] }],
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    });
  });

  it('fills the ECS task of the definition with the cluster, task definition and network that exist', () => {
    const resources = fargateOnly();
    const machine = resources.BackupStateMachine!.Properties;
    const substitutions = machine.DefinitionSubstitutions as Record<string, unknown>;
    const task = JSON.stringify(machine.Definition.States.FargateDump);
    for (const name of [TASK_SUBSTITUTIONS.cluster, TASK_SUBSTITUTIONS.taskDefinition]) {
      expect(task).toContain(`\${${name}}`);
    }
    expect(substitutions[TASK_SUBSTITUTIONS.cluster]).toEqual({ 'Fn::GetAtt': ['DumpTaskCluster', 'Arn'] });
    expect(resources.DumpTaskCluster!.Type).toBe('AWS::ECS::Cluster');
    expect(substitutions[TASK_SUBSTITUTIONS.taskDefinition]).toEqual({ Ref: 'DumpTaskDefinition' });
    expect(resources.DumpTaskDefinition!.Type).toBe('AWS::ECS::TaskDefinition');
    // deploy.vpc's network, its groups, no public IP.
    expect(substitutions[TASK_SUBSTITUTIONS.subnets]).toBe('subnet-0aaa1111,subnet-0bbb2222');
    expect(substitutions[TASK_SUBSTITUTIONS.securityGroups]).toBe('sg-0db11111');
    expect(substitutions[TASK_SUBSTITUTIONS.assignPublicIp]).toBe('DISABLED');
    // The definition names only functions that exist: the dump runs in the task, so no Dump function.
    expect(machine.Definition.States).not.toHaveProperty('Dump');
    expect(resources).not.toHaveProperty('DumpFunctionRole');
    expect(resources).not.toHaveProperty('StagingFileSystem');
    for (const name of Object.keys(substitutions))
      if (name.endsWith('FunctionArn'))
        expect(resources[`${name.replace(/FunctionArn$/, '')}FunctionRole`], name).toBeDefined();
    // The task's Task state keeps its own timeout; the execution's still covers the worst case.
    expect(machine.Definition.States.FargateDump.TimeoutSeconds).toBe(7200);
    expect(machine.Definition.TimeoutSeconds).toBeGreaterThan(7200);
  });

  it('in public subnets without NAT: its own subnets, a public IP, and a security group the stack creates', () => {
    const text = withFargate(', subnetIds: [subnet-0ccc3333], vpcId: vpc-0def5678, assignPublicIp: true').replace(
      / {2}vpc:\n( {4}.*\n)+/,
      '',
    );
    const c = config(text.replace('host: 10.0.3.17', 'host: shop.db.acme.example'), {
      orders: 'fargate',
      shop: 'fargate',
    });
    const resources = resourcesOf(c);
    const substitutions = resources.BackupStateMachine!.Properties.DefinitionSubstitutions;
    expect(substitutions[TASK_SUBSTITUTIONS.subnets]).toBe('subnet-0ccc3333');
    expect(substitutions[TASK_SUBSTITUTIONS.assignPublicIp]).toBe('ENABLED');
    expect(substitutions[TASK_SUBSTITUTIONS.securityGroups]).toEqual({
      'Fn::GetAtt': ['DumpTaskSecurityGroup', 'GroupId'],
    });
    expect(resources.DumpTaskSecurityGroup).toMatchObject({
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { VpcId: 'vpc-0def5678', SecurityGroupEgress: [{ IpProtocol: '-1', CidrIp: '0.0.0.0/0' }] },
    });
    // No Lambda function is in a VPC: no Lambda security group, no EFS.
    expect(Object.values(resources).filter((r) => r.Type.startsWith('AWS::EFS::'))).toEqual([]);
    expect(resources).not.toHaveProperty('LambdaSecurityGroup');
    for (const [name, fn] of Object.entries(generated(c).functions)) expect(fn!.vpc, name).toBeUndefined();
  });

  it('is refused without deploy.fargate', () => {
    expect(() => generated(config(fixture, { orders: 'fargate' }))).toThrow(
      'targets.orders.runner fargate runs its dump as an ECS task: add deploy.fargate.image, the URI of the stepvault image in your registry (the README says how to push it)',
    );
  });

  it('gives a task whose step reads no secret and writes nowhere a role without a policy (IAM refuses an empty one)', () => {
    const text = withFargate()
      .replace('    password: "ssm:/prod/orders/db-password"\n', '')
      .replace(/ {4}password: "secretsmanager:[^\n]*\n/, '');
    // A task that runs the staging dump: without passwords it needs no permission at all.
    const staging = JSON.parse(
      JSON.stringify(definition()).replace('"Value":"streamDump"', '"Value":"dump"'),
    ) as StateMachineDefinition;
    const c = config(text, { orders: 'fargate', shop: 'fargate' });
    const role = (generateDeployment(c, 'ci', staging).resources.Resources as Resources).DumpTaskRole!;
    expect(role.Properties).not.toHaveProperty('Policies');
  });

  it('is refused when the state machine has no ECS task to run it', () => {
    const c = config(withFargate(), { orders: 'fargate' });
    const planOnly: StateMachineDefinition = {
      StartAt: 'Plan',
      States: { Plan: { Type: 'Task', Resource: '${PlanFunctionArn}', TimeoutSeconds: 60, End: true } },
    };
    expect(() => generateDeployment(c, 'ci', planOnly)).toThrow(
      'targets.orders runs on fargate, but the state machine has no ECS task state to run it',
    );
  });

  it('auto on a public database: both the lambda branch and the task, and neither EFS nor a Dump function', () => {
    const text = withFargate(', subnetIds: [subnet-0ccc3333], vpcId: vpc-0def5678, assignPublicIp: true')
      .replace(/ {2}vpc:\n( {4}.*\n)+/, '')
      .replace('host: 10.0.3.17', 'host: shop.db.acme.example');
    const c = config(text, { orders: 'auto', shop: 'lambda' });
    const resources = resourcesOf(c);
    const choices = resources.BackupStateMachine!.Properties.Definition.States.ChooseRunner.Choices as {
      StringEquals: string;
    }[];
    expect(choices.map((rule) => rule.StringEquals).sort()).toEqual(['fargate', 'lambda']);
    expect(Object.keys(generated(c).functions)).toContain('streamDump');
    expect(Object.keys(generated(c).functions)).not.toContain('dump');
    expect(resources.DumpTaskDefinition!.Type).toBe('AWS::ECS::TaskDefinition');
    expect(Object.values(resources).filter((r) => r.Type.startsWith('AWS::EFS::'))).toEqual([]);
  });

  it('has no ECS resource, role or permission when no target runs on fargate', () => {
    const resources = resourcesOf(config(withFargate(), {}));
    expect(Object.keys(resources).filter((id) => id.startsWith('DumpTask'))).toEqual([]);
    expect(JSON.stringify(resources.StateMachineRole)).not.toContain('ecs:');
    expect(JSON.stringify(resources.StateMachineRole)).not.toContain('iam:PassRole');
  });
});
