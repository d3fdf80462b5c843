/**
 * The deployment of the fargate runner, present only when a target runs on fargate (or auto):
 * the ECS cluster, one task definition, its task role (what the step it runs does, from the step
 * table, as a Lambda role is derived) and execution role (pull the image, write its logs), its
 * log group, the network the state machine starts it in, and what the state machine's role needs
 * to start it and wait for it (`ecs:runTask.sync`).
 *
 * One task definition, sized for the largest target that may run on Fargate: the state machine
 * names one task definition through a substitution, and a size per target would need a task
 * definition per size and a way for each execution to pick its ARN. Fargate bills the size a task
 * runs with, so a run may still ask for less through RunTask's task-level Overrides.
 */
import type { Config } from '../config/load.ts';
import type { DeployConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';
import type { StateDefinition, StateMachineDefinition } from '../statemachine/definition.ts';
import { STEP_NAMES, type StepName } from '../steps/table.ts';
import {
  ECS_RUN_TASK_SYNC,
  TASK_CONTAINER_NAME,
  TASK_ENV,
  TASK_LOG_STREAM_PREFIX,
  TASK_SUBSTITUTIONS,
} from '../task/contract.ts';
import type { Resource, Statement } from './iam.ts';
import type { Resources } from './resources.ts';

/** What a target may ask of its task (`fargate:` on the target). */
interface TaskOptions {
  cpu?: number;
  memory?: number;
  ephemeralStorageGiB?: number;
}

export interface TaskSize {
  /** CPU units (1024 = one vCPU). */
  cpu: number;
  /** MiB. */
  memory: number;
  /** GiB of ephemeral storage, when more than Fargate's 20 GiB default is asked for. */
  ephemeralStorageGiB?: number;
}

/** A task's size when its target says none: one vCPU, 2 GiB. */
export const DEFAULT_TASK_SIZE: TaskSize = { cpu: 1024, memory: 2048 };

/** Fargate's sizes: the memory (MiB) each CPU setting takes, from, to, in steps of. */
const FARGATE_MEMORY: Record<number, [number, number, number]> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** The targets whose dump may run as the task. */
export function fargateTargets(config: Config): Config['targets'][string][] {
  return Object.values(config.targets).filter((t) => t.runner === 'fargate' || t.runner === 'auto');
}

/**
 * The largest CPU, memory and disk any of the targets asks for, as a size Fargate has: the memory
 * is raised to the next one the CPU setting takes (4 vCPU with 30 GiB and 8 vCPU with 16 GiB make
 * 8 vCPU with 32 GiB).
 */
export function taskSize(targets: Config['targets'][string][]): TaskSize {
  const options = targets.map((t) => (t as { fargate?: TaskOptions }).fargate ?? {});
  const cpu = Math.max(...options.map((o) => o.cpu ?? DEFAULT_TASK_SIZE.cpu));
  const memory = Math.max(...options.map((o) => o.memory ?? DEFAULT_TASK_SIZE.memory));
  const range = FARGATE_MEMORY[cpu];
  if (!range)
    throw new ConfigError(
      `fargate.cpu ${cpu} is not a Fargate CPU setting: use one of ${Object.keys(FARGATE_MEMORY).join(', ')}`,
    );
  const [from, to, step] = range;
  const fitted = Math.max(from, Math.ceil((memory - from) / step) * step + from);
  if (fitted > to)
    throw new ConfigError(
      `fargate.memory ${memory} MiB is more than Fargate gives ${cpu} CPU units (${to} MiB at most)`,
    );
  const disks = options.map((o) => o.ephemeralStorageGiB).filter((g): g is number => g !== undefined);
  const ephemeralStorageGiB = disks.length ? Math.max(...disks) : undefined;
  return { cpu, memory: fitted, ...(ephemeralStorageGiB !== undefined && { ephemeralStorageGiB }) };
}

/** The ECS Task states of a definition, at every depth. */
function ecsTasks(definition: StateMachineDefinition): [string, StateDefinition][] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    ...(state.Type === 'Task' && state.Resource === ECS_RUN_TASK_SYNC
      ? [[name, state] as [string, StateDefinition]]
      : []),
    ...[state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])]
      .filter((m): m is StateMachineDefinition => m !== undefined)
      .flatMap(ecsTasks),
  ]);
}

/**
 * The steps the definition's ECS tasks run, as their ContainerOverrides name them ($STEPVAULT_STEP):
 * the task role may do what these steps do, and nothing else.
 */
export function stepsRunByTasks(definition: StateMachineDefinition): StepName[] {
  const steps = new Set<StepName>();
  for (const [name, state] of ecsTasks(definition)) {
    const parameters = (state.Parameters ?? {}) as {
      Overrides?: { ContainerOverrides?: { Environment?: { Name?: string; Value?: unknown }[] }[] };
    };
    const named = (parameters.Overrides?.ContainerOverrides ?? [])
      .flatMap((c) => c.Environment ?? [])
      .filter((e) => e.Name === TASK_ENV.step)
      .map((e) => e.Value);
    if (named.length === 0)
      throw new Error(`the ECS task of state ${name} names no step: its ContainerOverrides set no ${TASK_ENV.step}`);
    for (const step of named) {
      if (!STEP_NAMES.includes(step as StepName))
        throw new Error(`the ECS task of state ${name} runs "${String(step)}", which is no step of the table`);
      steps.add(step as StepName);
    }
  }
  return [...steps];
}

/** The task's network: the subnets and security groups it starts in, and whether it gets a public IP. */
export interface TaskNetwork {
  subnetIds: string[];
  /** The groups the config names, or none: the stack creates one (DumpTaskSecurityGroup) in `vpcId`. */
  securityGroupIds?: string[];
  vpcId?: string;
  assignPublicIp: boolean;
}

/** The fargate section, checked, with its network resolved from deploy.vpc where it says nothing. */
export function taskNetwork(deploy: DeployConfig, targets: Config['targets'][string][]): TaskNetwork {
  const fargate = deploy.fargate;
  const first = targets[0]!;
  if (!fargate)
    throw new ConfigError(
      `targets.${first.name}.runner ${first.runner} runs its dump as an ECS task: add deploy.fargate.image, the URI of the stepvault image in your registry (the README says how to push it)`,
    );
  const subnetIds = fargate.subnetIds ?? deploy.vpc?.subnetIds;
  if (!subnetIds)
    throw new ConfigError(
      'deploy.fargate: an ECS task runs in subnets of a VPC: add deploy.fargate.subnetIds (public subnets with assignPublicIp: true when they have no NAT gateway), or deploy.vpc',
    );
  const securityGroupIds = fargate.securityGroupIds ?? deploy.vpc?.securityGroupIds;
  const vpcId = fargate.vpcId ?? deploy.vpc?.id;
  if (!securityGroupIds && !vpcId)
    throw new ConfigError(
      'deploy.fargate: the task needs a security group: add deploy.fargate.securityGroupIds, or deploy.fargate.vpcId (the VPC of its subnets) for one the stack creates',
    );
  return {
    subnetIds,
    ...(securityGroupIds ? { securityGroupIds } : { vpcId: vpcId! }),
    assignPublicIp: fargate.assignPublicIp,
  };
}

export interface FargateInput {
  config: Config;
  deploy: DeployConfig;
  stage: string;
  definition: StateMachineDefinition;
  /** What the steps the task runs may do (src/deploy/policies.ts). */
  taskStatements: Statement[];
}

export interface FargateDeployment {
  resources: Resources;
  /** The definition's substitutions for the ECS task. */
  substitutions: Record<string, Resource>;
  /** What the state machine's role needs to start the task and wait for it. */
  stateMachineStatements: Statement[];
}

const ECS_TASKS_TRUST = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'ecs-tasks.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    },
  ],
};

/** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` → the repository's ARN; undefined elsewhere. */
export function ecrRepositoryArn(image: string): Resource | undefined {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)/.exec(image);
  if (!match) return undefined;
  const [, account, region, , repository] = match;
  return { 'Fn::Sub': `arn:\${AWS::Partition}:ecr:${region}:${account}:repository/${repository}` };
}

export function fargateDeployment(input: FargateInput): FargateDeployment {
  const { config, deploy, stage } = input;
  const targets = fargateTargets(config);
  const network = taskNetwork(deploy, targets);
  const taskSteps = stepsRunByTasks(input.definition);
  if (taskSteps.length === 0)
    throw new Error(
      `targets.${targets[0]!.name} runs on fargate, but the state machine has no ECS task state to run it`,
    );
  const fargate = deploy.fargate!;
  const size = taskSize(targets);
  const cluster = `stepvault-${stage}`;
  const repository = ecrRepositoryArn(fargate.image);
  const resources: Resources = {
    DumpTaskCluster: {
      Type: 'AWS::ECS::Cluster',
      Properties: {
        ClusterName: cluster,
        CapacityProviders: ['FARGATE'],
        // Container Insights bills per task metric; the dump's own metrics and logs say what matters.
        ClusterSettings: [{ Name: 'containerInsights', Value: 'disabled' }],
      },
    },
    DumpTaskLogGroup: {
      Type: 'AWS::Logs::LogGroup',
      Properties: {
        LogGroupName: `/stepvault/${stage}/dump-task`,
        RetentionInDays: fargate.logRetentionDays ?? deploy.logRetentionDays,
      },
    },
    DumpTaskRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `stepvault dump task: only what the ${taskSteps.join(', ')} step does`,
        AssumeRolePolicyDocument: ECS_TASKS_TRUST,
        // IAM refuses a policy without statements: a dump that reads no secret needs none.
        ...(input.taskStatements.length > 0 && {
          Policies: [
            {
              PolicyName: 'stepvault-dump-task',
              PolicyDocument: { Version: '2012-10-17', Statement: input.taskStatements },
            },
          ],
        }),
      },
    },
    DumpTaskExecutionRole: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: 'stepvault dump task, for ECS: pull the image, write the logs',
        AssumeRolePolicyDocument: ECS_TASKS_TRUST,
        Policies: [
          {
            PolicyName: 'stepvault-dump-task-execution',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                ...(repository
                  ? [
                      // ECR grants the registry's login token only on "*"; the pull itself is on the one repository.
                      { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
                      {
                        Effect: 'Allow',
                        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
                        Resource: repository,
                      },
                    ]
                  : []),
                {
                  Effect: 'Allow',
                  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                  Resource: { 'Fn::GetAtt': ['DumpTaskLogGroup', 'Arn'] },
                },
              ],
            },
          },
        ],
      },
    },
    DumpTaskDefinition: {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: {
        Family: `stepvault-${stage}-dump`,
        RequiresCompatibilities: ['FARGATE'],
        NetworkMode: 'awsvpc',
        Cpu: String(size.cpu),
        Memory: String(size.memory),
        ...(size.ephemeralStorageGiB !== undefined && { EphemeralStorage: { SizeInGiB: size.ephemeralStorageGiB } }),
        RuntimePlatform: {
          CpuArchitecture: deploy.architecture === 'arm64' ? 'ARM64' : 'X86_64',
          OperatingSystemFamily: 'LINUX',
        },
        TaskRoleArn: { 'Fn::GetAtt': ['DumpTaskRole', 'Arn'] },
        ExecutionRoleArn: { 'Fn::GetAtt': ['DumpTaskExecutionRole', 'Arn'] },
        ContainerDefinitions: [
          {
            Name: TASK_CONTAINER_NAME,
            Image: fargate.image,
            Essential: true,
            LogConfiguration: {
              LogDriver: 'awslogs',
              Options: {
                'awslogs-group': { Ref: 'DumpTaskLogGroup' },
                'awslogs-region': { Ref: 'AWS::Region' },
                'awslogs-stream-prefix': TASK_LOG_STREAM_PREFIX,
              },
            },
          },
        ],
      },
    },
    ...(network.vpcId && {
      DumpTaskSecurityGroup: {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: 'stepvault dump task: outbound to the databases, the destinations and AWS APIs',
          VpcId: network.vpcId,
          SecurityGroupEgress: [{ IpProtocol: '-1', CidrIp: '0.0.0.0/0' }],
        },
      },
    }),
  };
  const substitutions: Record<string, Resource> = {
    [TASK_SUBSTITUTIONS.cluster]: { 'Fn::GetAtt': ['DumpTaskCluster', 'Arn'] },
    [TASK_SUBSTITUTIONS.taskDefinition]: { Ref: 'DumpTaskDefinition' },
    // Comma-separated: the definition splits them (a JSON array's quotes would break the JSON string they go in).
    [TASK_SUBSTITUTIONS.subnets]: network.subnetIds.join(','),
    [TASK_SUBSTITUTIONS.securityGroups]: network.securityGroupIds
      ? network.securityGroupIds.join(',')
      : { 'Fn::GetAtt': ['DumpTaskSecurityGroup', 'GroupId'] },
    [TASK_SUBSTITUTIONS.assignPublicIp]: network.assignPublicIp ? 'ENABLED' : 'DISABLED',
  };
  const stateMachineStatements: Statement[] = [
    {
      Effect: 'Allow',
      Action: ['ecs:RunTask'],
      Resource: { Ref: 'DumpTaskDefinition' },
      Condition: { ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': ['DumpTaskCluster', 'Arn'] } } },
    },
    // .sync watches the task it started and stops it when the execution stops; both on the cluster's tasks only.
    {
      Effect: 'Allow',
      Action: ['ecs:StopTask', 'ecs:DescribeTasks'],
      Resource: { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:task/${cluster}/*` },
    },
    // .sync learns that the task stopped through this managed EventBridge rule, which it creates on first use.
    {
      Effect: 'Allow',
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/StepFunctionsGetEventsForECSTaskRule',
      },
    },
    {
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: [{ 'Fn::GetAtt': ['DumpTaskRole', 'Arn'] }, { 'Fn::GetAtt': ['DumpTaskExecutionRole', 'Arn'] }],
      Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    },
  ];
  return { resources, substitutions, stateMachineStatements };
}
