/**
 * What the state machine, the deployment, the local runner and the container agree on when a
 * step runs as an ECS task (a target's `runner: fargate`), said once. The deployment fills the
 * `${…}` substitutions of the FargateDump state; the ASL's ContainerOverrides set the environment
 * the entrypoint (src/task/entrypoint.ts) reads.
 */

/** The name of the container in the task definition; the ContainerOverrides address it. */
export const TASK_CONTAINER_NAME = 'stepvault';

/**
 * The prefix of the task's log streams (awslogs-stream-prefix): ECS names each stream
 * `<prefix>/<container>/<task id>`, so a failure's cause can say where the task's log is.
 */
export const TASK_LOG_STREAM_PREFIX = 'dump';

/** The environment the ContainerOverrides set: which step to run, and its input as JSON. */
export const TASK_ENV = {
  step: 'STEPVAULT_STEP',
  input: 'STEPVAULT_STEP_INPUT',
} as const;

/**
 * The substitutions of statemachine/backup.asl.json that the deployment fills for the ECS task:
 * the cluster's ARN, the task definition's ARN, the subnets and security groups of the task's
 * awsvpc network, and whether it gets a public IP (`ENABLED` / `DISABLED`). Subnets and security
 * groups are comma-separated IDs (`subnet-0aaa,subnet-0bbb`), which the state turns into lists
 * with States.StringSplit: a substitution is text put inside a JSON string of the definition, so a
 * JSON array (its quotes) would break the definition.
 */
export const TASK_SUBSTITUTIONS = {
  cluster: 'DumpTaskClusterArn',
  taskDefinition: 'DumpTaskDefinitionArn',
  subnets: 'DumpTaskSubnetIds',
  securityGroups: 'DumpTaskSecurityGroupIds',
  assignPublicIp: 'DumpTaskAssignPublicIp',
} as const;

/** The Task state that runs the dump in a container, and the resource it calls. */
export const FARGATE_DUMP_STATE = 'FargateDump';
export const ECS_RUN_TASK_SYNC = 'arn:aws:states:::ecs:runTask.sync';

/**
 * How the container's exit code names the error its step threw: ECS reports only the code, and
 * the task's last stderr line (`{"errorType":…,"errorMessage":…}`) says the rest.
 */
export const TASK_EXIT_CODES = {
  ConfigError: 10,
  ConnectionError: 11,
  StorageError: 12,
  TransientError: 13,
  DumpError: 14,
  ChecksumMismatchError: 15,
  VersionMismatchError: 16,
  ObjectExistsError: 17,
} as const;

/** What Step Functions reports when an ECS task it waited for stopped without success. */
export const TASK_FAILED_ERROR = 'States.TaskFailed';

/**
 * A task that stopped with the exit code of one of these errors is started again by the state
 * machine (IsFargateTaskRetryable): the errors StreamDump's Retry retries, as the task runs the same step.
 */
export const FARGATE_RETRIED_ERRORS = ['ConnectionError', 'StorageError', 'TransientError'] as const;

/**
 * The waits before each new task (WaitToRetryFargateDump1…3): StreamDump's Retry backoff
 * (15 s, rate 2, three attempts) as a fixed table, since a Wait state has no backoff of its own.
 */
export const FARGATE_RETRY_WAIT_SECONDS = [15, 30, 60] as const;
/** The Wait state before the n-th new task (1-based). */
export const fargateRetryWaitState = (n: number) => `WaitToRetryFargateDump${n}`;
