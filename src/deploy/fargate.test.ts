import { describe, expect, it } from 'vitest';
import type { Config } from '../config/load.ts';
import { deploySchema } from '../config/schema.ts';
import type { StateMachineDefinition } from '../statemachine/definition.ts';
import { ecrRepositoryArn, stepsRunByTasks, taskNetwork, taskSize } from './fargate.ts';

type Target = Config['targets'][string];
const target = (name: string, fargate?: Record<string, number>) =>
  ({ name, runner: 'auto', fargate }) as unknown as Target;
const deploy = (fargate: Record<string, unknown> | undefined, vpc?: Record<string, unknown>) =>
  deploySchema.parse({ region: 'eu-west-1', ...(fargate && { fargate }), ...(vpc && { vpc }) });
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/stepvault:1.4.0';

describe('the size of the one task definition', () => {
  it('is one vCPU and 2 GiB for targets that ask for nothing', () => {
    expect(taskSize([target('a')])).toEqual({ cpu: 1024, memory: 2048 });
  });

  it('is the largest CPU, memory and disk any target asks for', () => {
    expect(
      taskSize([
        target('a', { cpu: 2048, memory: 4096, ephemeralStorageGiB: 50 }),
        target('b', { cpu: 512, memory: 4096, ephemeralStorageGiB: 120 }),
      ]),
    ).toEqual({ cpu: 2048, memory: 4096, ephemeralStorageGiB: 120 });
  });

  it('raises the memory to one the CPU setting takes', () => {
    // 30 GiB is a 4 vCPU size; 8 vCPU take 16-60 GiB in steps of 4 GiB.
    expect(taskSize([target('a', { cpu: 4096, memory: 30720 }), target('b', { cpu: 8192, memory: 16384 })])).toEqual({
      cpu: 8192,
      memory: 32768,
    });
    expect(taskSize([target('a', { cpu: 4096, memory: 1024 })])).toEqual({ cpu: 4096, memory: 8192 });
  });

  it('refuses what Fargate has no size for', () => {
    expect(() => taskSize([target('a', { cpu: 3000 })])).toThrow(
      'fargate.cpu 3000 is not a Fargate CPU setting: use one of 256, 512, 1024, 2048, 4096, 8192, 16384',
    );
    expect(() => taskSize([target('a', { cpu: 256, memory: 4096 })])).toThrow(
      'fargate.memory 4096 MiB is more than Fargate gives 256 CPU units (2048 MiB at most)',
    );
  });
});

describe("the task's network", () => {
  const vpc = { id: 'vpc-0abc', subnetIds: ['subnet-0a', 'subnet-0b'], securityGroupIds: ['sg-0db'] };

  it("is deploy.vpc's where the fargate section names none", () => {
    expect(taskNetwork(deploy({ image: IMAGE }, vpc), [target('a')])).toEqual({
      subnetIds: ['subnet-0a', 'subnet-0b'],
      securityGroupIds: ['sg-0db'],
      assignPublicIp: false,
    });
  });

  it("is the fargate section's own, with a created group in its VPC when it names no group", () => {
    expect(
      taskNetwork(deploy({ image: IMAGE, subnetIds: ['subnet-0c'], vpcId: 'vpc-0def', assignPublicIp: true }), [
        target('a'),
      ]),
    ).toEqual({ subnetIds: ['subnet-0c'], vpcId: 'vpc-0def', assignPublicIp: true });
  });

  it('is refused without an image, subnets, or a security group', () => {
    expect(() => taskNetwork(deploy(undefined, vpc), [target('big')])).toThrow(
      'targets.big.runner auto runs its dump as an ECS task: add deploy.fargate.image',
    );
    expect(() => taskNetwork(deploy({ image: IMAGE }), [target('a')])).toThrow(
      'deploy.fargate: an ECS task runs in subnets of a VPC: add deploy.fargate.subnetIds (public subnets with assignPublicIp: true when they have no NAT gateway), or deploy.vpc',
    );
    expect(() => taskNetwork(deploy({ image: IMAGE, subnetIds: ['subnet-0c'] }), [target('a')])).toThrow(
      'deploy.fargate: the task needs a security group: add deploy.fargate.securityGroupIds, or deploy.fargate.vpcId (the VPC of its subnets) for one the stack creates',
    );
  });
});

describe('deploy.fargate in the config', () => {
  const issues = (fargate: Record<string, unknown>) =>
    deploySchema
      .safeParse({ region: 'eu-west-1', fargate })
      .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it('takes an image with a tag or a digest, from any registry', () => {
    expect(issues({ image: IMAGE })).toBeUndefined();
    expect(issues({ image: `ghcr.io/acme/stepvault@sha256:${'a'.repeat(64)}` })).toBeUndefined();
  });

  it('refuses an image without a tag, subnets and groups that are not ids', () => {
    expect(issues({ image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/stepvault' })).toEqual([
      'fargate.image: is not an image URI with a tag or digest (<account>.dkr.ecr.<region>.amazonaws.com/stepvault:<tag>)',
    ]);
    expect(issues({ image: IMAGE, subnetIds: ['subnet-0a', 'public-a'], securityGroupIds: ['default'] })).toEqual([
      'fargate.subnetIds.1: is not a subnet id (subnet-…)',
      'fargate.securityGroupIds.0: is not a security group id (sg-…)',
    ]);
  });
});

describe('what the task may pull and run', () => {
  it('pulls from the ECR repository its image names, and from no other', () => {
    expect(ecrRepositoryArn(IMAGE)).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ecr:eu-west-1:123456789012:repository/stepvault',
    });
    expect(ecrRepositoryArn('123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/stepvault@sha256:ab')).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:ecr:eu-west-1:123456789012:repository/team/stepvault',
    });
    expect(ecrRepositoryArn('ghcr.io/acme/stepvault:1.4.0')).toBeUndefined();
  });

  const withTask = (environment: unknown[]): StateMachineDefinition => ({
    StartAt: 'FargateDump',
    States: {
      FargateDump: {
        Type: 'Task',
        Resource: 'arn:aws:states:::ecs:runTask.sync',
        Parameters: { Overrides: { ContainerOverrides: [{ Name: 'stepvault', Environment: environment }] } },
        End: true,
      },
    },
  });

  it('runs the steps the ECS task states name in their container overrides', () => {
    expect(stepsRunByTasks(withTask([{ Name: 'STEPVAULT_STEP', Value: 'dump' }]))).toEqual(['dump']);
    expect(stepsRunByTasks({ StartAt: 'A', States: { A: { Type: 'Succeed' } } })).toEqual([]);
  });

  it('refuses a task that names no step, or one the table does not have', () => {
    expect(() => stepsRunByTasks(withTask([]))).toThrow(
      'the ECS task of state FargateDump names no step: its ContainerOverrides set no STEPVAULT_STEP',
    );
    expect(() => stepsRunByTasks(withTask([{ Name: 'STEPVAULT_STEP', Value: 'vacuum' }]))).toThrow(
      'the ECS task of state FargateDump runs "vacuum", which is no step of the table',
    );
  });
});
