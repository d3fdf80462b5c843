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
   * The customer-managed KMS key the alarm topic is encrypted with (its key policy must let cloudwatch.amazonaws.com
   * use it); by default the stack creates one. Not an AWS managed key: CloudWatch alarms cannot publish with
   * alias/aws/sns.
   */
  alarmTopicKmsKeyId: z
    .string()
    .min(1)
    .refine((key) => !/(^|:)alias\/aws\//.test(key), {
      message:
        'cannot be an AWS managed key: its key policy does not let CloudWatch alarms publish to the topic; leave it out for a key the stack creates, or name a customer-managed key whose policy allows cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*',
    })
    .optional(),
  /** The state machine's execution log and tracing. */
  stateMachine: z
    .strictObject({
      /** ERROR: failed states and executions; ALL: every event. FATAL and OFF would not record a failed step. */
      logLevel: z.enum(['ERROR', 'ALL']).default('ERROR'),
      /** Write each state's input and output into the log (names, keys and sizes; never a secret). */
      includeExecutionData: z.boolean().default(false),
      /** AWS X-Ray tracing of executions. */
      tracing: z.boolean().default(false),
    })
    .prefault({}),
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
