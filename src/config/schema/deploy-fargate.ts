import * as z from 'zod';

export const subnetId = z.string().regex(/^subnet-[0-9a-f]+$/, 'is not a subnet id (subnet-…)');
export const securityGroupId = z.string().regex(/^sg-[0-9a-f]+$/, 'is not a security group id (sg-…)');
export const vpcId = z.string().regex(/^vpc-[0-9a-f]+$/, 'is not a VPC id (vpc-…)');

/**
 * A registry, a repository and a tag or digest: a task definition pins what it runs, so an image
 * without a tag (which would mean `latest`, whatever that is at the next start) is refused.
 */
const imageUri = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]*(:\d+)?\/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/,
    'is not an image URI with a tag or digest (<account>.dkr.ecr.<region>.amazonaws.com/stepvault:<tag>)',
  );

/**
 * Where and how the ECS task of the fargate runner runs. The image is the one `npm run image`
 * builds, pushed to a registry the task can pull from (ECR: the execution role may pull from the
 * repository the URI names). The network falls back to deploy.vpc's.
 */
export const deployFargateSchema = z.strictObject({
  image: imageUri,
  /** The task's subnets; deploy.vpc.subnetIds when left out. */
  subnetIds: z.array(subnetId).min(1).optional(),
  /** The task's security groups; deploy.vpc.securityGroupIds, else a group the stack creates in vpcId. */
  securityGroupIds: z.array(securityGroupId).min(1).optional(),
  /** The VPC of the subnets, for the security group the stack creates; deploy.vpc.id when left out. */
  vpcId: vpcId.optional(),
  /**
   * A public IP for the task: needed in a public subnet without a NAT gateway, to pull its image and reach the
   * databases, S3 and the AWS APIs.
   */
  assignPublicIp: z.boolean().default(false),
  /** Days the task's log group keeps its logs; deploy.logRetentionDays when left out. */
  logRetentionDays: z.int().min(1).optional(),
});

export type DeployFargateConfig = z.output<typeof deployFargateSchema>;
