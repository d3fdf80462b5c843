import * as z from 'zod';
import { LAMBDA_MAX_TIMEOUT_SECONDS, STEP_NAMES } from '../../steps/table.ts';
import { deployFargateSchema, securityGroupId, subnetId, vpcId } from './deploy-fargate.ts';
import { email } from './fields.ts';

/** How the AWS deployment is shaped (read by `serverless package`/`deploy`, not by a run). */
export const deploySchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'is not an AWS region (e.g. eu-west-1)'),
  architecture: z.enum(['arm64', 'x86_64']).default('arm64'),
  /** Alarms go to an SNS topic; this address is subscribed to it. */
  alarmEmail: email.optional(),
  /**
   * The VPC the databases are reached in, and the EFS staging share of the efs runner: the subnets (one per AZ) and,
   * optionally, security groups. A config whose targets all run on lambda with public databases needs none.
   */
  vpc: z
    .strictObject({
      id: vpcId,
      subnetIds: z.array(subnetId).min(1),
      securityGroupIds: z.array(securityGroupId).optional(),
    })
    .optional(),
  /** The backup bucket the stack creates (versioned, private, TLS-only, SSE-KMS); s3 destinations may use it. */
  bucket: z
    .strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid bucket name'),
      kmsKeyId: z.string().min(1).optional(),
      transitions: z
        .array(
          z.strictObject({
            days: z.int().min(1),
            storageClass: z.enum([
              'STANDARD_IA',
              'ONEZONE_IA',
              'INTELLIGENT_TIERING',
              'GLACIER_IR',
              'GLACIER',
              'DEEP_ARCHIVE',
            ]),
          }),
        )
        .optional(),
      noncurrentVersionDays: z.int().min(1).default(30),
    })
    .optional(),
  functions: z
    .partialRecord(
      z.enum(STEP_NAMES),
      z.strictObject({
        memorySize: z.int().min(128).max(10240).optional(),
        timeout: z.int().min(1).max(LAMBDA_MAX_TIMEOUT_SECONDS).optional(),
      }),
    )
    .optional(),
  logRetentionDays: z.int().min(1).default(30),
  /** The ECS task of the fargate runner (targets with runner fargate or auto). */
  fargate: deployFargateSchema.optional(),
});

export type DeployConfig = z.output<typeof deploySchema>;
