/**
 * What the state machine, the deployment, the local runner and the container agree on when a
 * step runs as an ECS task (a target's `runner: fargate`), said once. The deployment fills the
 * `${…}` substitutions of the FargateDump state; the ASL's ContainerOverrides set the environment
 * the entrypoint (src/task/entrypoint.ts) reads.
 */

/** The name of the container in the task definition; the ContainerOverrides address it. */
export const TASK_CONTAINER_NAME = 'stepvault';

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
