/**
 * The steps of the workflow, one row each: the only list of them. Everything else that names a
 * step derives from this table or is checked against it by src/steps/table.test.ts: the config's
 * `deploy.functions` keys, serverless.yml's functions (through the generated deployment), each
 * function's role, its place in the VPC and on the staging share, the state machine's
 * `${…FunctionArn}` substitutions, the local runner's handlers and the bundles.
 *
 * A deployment holds only the steps the state machine calls for the runners its targets use
 * (src/deploy/runners.ts), and places each from its row (src/deploy/placement.ts): on the staging
 * share when it touches `staging` and a target uses the efs runner; in the VPC when it mounts
 * the share, or when it connects to a database (`vpc`) and the config has deploy.vpc; nowhere
 * near a VPC otherwise.
 *
 * A step's name is the same in every layer: `functions/<name>.ts` (the handler),
 * `src/steps/<name>.ts` (the domain), the Lambda function `stepvault-<stage>-<name>`, the config
 * key `deploy.functions.<name>`; its PascalCase (`Dump`, `CheckRdsBackup`) names the Task state,
 * the substitution `${<Pascal>FunctionArn}`, and the CloudFormation resources.
 *
 * This file imports nothing: the config schema, the deployment and the runner all read it.
 */

/** Lambda runs a function for at most this long; `deploy.functions.<step>.timeout` may not ask for more. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** Which secret references a step resolves. */
export type SecretScope = 'targets' | 'destinations' | 'drill' | 'observability' | 'notifications';

export interface StepSpec {
  /** Resolves these secrets (Secrets Manager / SSM reads in its role). */
  secrets: readonly SecretScope[];
  /** Logs in to the target's database, with RDS IAM authentication where the target asks for it. */
  iamAuth: boolean;
  /**
   * The staging share: `write` (dump, remove), `read`, or not at all. Mounting it puts a step in the VPC; it is mounted
   * only where the efs runner is deployed.
   */
  staging: 'write' | 'read' | false;
  /**
   * What it does to the s3 destinations: `write` (put, look before writing), `read`, `prune` (list, delete), `abort`
   * (list and abort open multipart uploads), `probe` (put, read, list and delete a small probe object).
   */
  destinations: 'write' | 'read' | 'prune' | 'abort' | 'probe' | false;
  /**
   * Connects to a database server (the target's, or the restore drill's): inside deploy.vpc when the config has one,
   * where the databases are reached.
   */
  vpc: boolean;
  /** Needs the dbtools layer (pg_dump, pg_restore, the MariaDB client). */
  layer: boolean;
  /** Sends the notifications (SES) and the outcome events (EventBridge). */
  notifies: boolean;
  /** Lambda memory in MB, unless `deploy.functions.<name>.memorySize` says otherwise. */
  memorySize: number;
  /** Lambda timeout in seconds, unless `deploy.functions.<name>.timeout` says otherwise; the Task waits 30 s longer. */
  timeout: number;
}

const none = {
  secrets: [],
  iamAuth: false,
  staging: false,
  destinations: false,
  vpc: false,
  layer: false,
  notifies: false,
} as const;

/** In the order the workflow runs them. */
export const STEPS = {
  /**
   * Resolves the target and names the run; resolving the target's secrets fails a bad config early. For `runner:
   * auto` it reads the newest manifest in the first destination (how long the last dump took).
   */
  plan: { ...none, secrets: ['targets', 'destinations'], destinations: 'read', memorySize: 256, timeout: 30 },
  dump: {
    ...none,
    secrets: ['targets'],
    iamAuth: true,
    staging: 'write',
    vpc: true,
    layer: true,
    memorySize: 1024,
    timeout: 900,
  },
  /**
   * The lambda runner: dumps and streams straight into the first destination (archive check on the stream, manifest
   * after it), nothing staged, so no share to mount.
   */
  streamDump: {
    ...none,
    secrets: ['targets', 'destinations'],
    iamAuth: true,
    destinations: 'write',
    vpc: true,
    layer: true,
    memorySize: 1024,
    timeout: 900,
  },
  /**
   * The fargate runner: after the ECS task ran streamDump, reads the manifest it published in the first destination
   * and returns the same streamed result (`.sync` returns the task's description, not the container's output).
   */
  collectDump: { ...none, secrets: ['destinations'], destinations: 'read', memorySize: 256, timeout: 60 },
  /** RDS for SQL Server: asks the server about its backup task, then reads the object RDS wrote. */
  checkRdsBackup: { ...none, secrets: ['targets'], destinations: 'read', vpc: true, memorySize: 512, timeout: 900 },
  upload: {
    ...none,
    secrets: ['destinations'],
    staging: 'read',
    destinations: 'write',
    memorySize: 1024,
    timeout: 900,
  },
  /** Reads back what landed; the restore drill runs the layer's restore tools against a scratch database. */
  verify: {
    ...none,
    secrets: ['destinations', 'drill'],
    staging: 'read',
    destinations: 'read',
    vpc: true,
    layer: true,
    memorySize: 1024,
    timeout: 900,
  },
  prune: { ...none, secrets: ['destinations'], destinations: 'prune', memorySize: 256, timeout: 300 },
  notify: { ...none, secrets: ['observability', 'notifications'], notifies: true, memorySize: 256, timeout: 60 },
  /** Also aborts the multipart uploads a failed last attempt of Upload left open (its keys are the run's own). */
  cleanup: {
    ...none,
    secrets: ['destinations'],
    staging: 'write',
    destinations: 'abort',
    memorySize: 256,
    timeout: 120,
  },
  /**
   * `stepvault doctor --stage`: runs doctor's checks from where the dumps run (in the VPC with deploy.vpc, on the
   * staging share with the efs runner), so that what fails there (the route to the database, a VPC endpoint) shows.
   * It dumps nothing; the destinations see a probe object written, read, listed and deleted.
   */
  doctor: {
    ...none,
    secrets: ['targets', 'destinations'],
    iamAuth: true,
    staging: 'write',
    destinations: 'probe',
    vpc: true,
    layer: true,
    memorySize: 512,
    timeout: 120,
  },
} as const satisfies Record<string, StepSpec>;

export type StepName = keyof typeof STEPS;

export const STEP_NAMES = Object.keys(STEPS) as [StepName, ...StepName[]];

export function stepSpec(name: StepName): StepSpec {
  return STEPS[name];
}

/** `checkRdsBackup` → `CheckRdsBackup`: the Task state and the CloudFormation names. */
export function pascalName(name: StepName): string {
  return `${name[0]!.toUpperCase()}${name.slice(1)}`;
}

/** The state machine's placeholder for the step's function ARN, without `${}`. */
export function substitutionOf(name: StepName): string {
  return `${pascalName(name)}FunctionArn`;
}

/** The step a `${…FunctionArn}` substitution names, if any. */
export function stepOfSubstitution(substitution: string): StepName | undefined {
  return STEP_NAMES.find((name) => substitutionOf(name) === substitution);
}

/** The handler module of a step, relative to the repository (serverless.yml's `handler` and the bundles). */
export function handlerFile(name: StepName): string {
  return `functions/${name}.ts`;
}
