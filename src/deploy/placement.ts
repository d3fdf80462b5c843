/**
 * Where a deployed function runs: on the staging share or not, in the VPC or not. The rule, from
 * the step's row in src/steps/table.ts and what the deployment has:
 *
 * - it mounts the staging share when its step touches staging (`staging`) and the share exists,
 *   which it does only when a target uses the `efs` runner;
 * - it sits in the VPC when it mounts the share (EFS is reached only there), or when its step
 *   connects to a database (`vpc`) and the deployment has a VPC (`deploy.vpc`: the databases are
 *   reached inside it);
 * - every other function runs outside any VPC: it reaches S3, Secrets Manager and SES directly,
 *   with no NAT gateway or VPC endpoint to pay for.
 */
import { STEPS, type StepName } from '../steps/table.ts';

export interface Network {
  /** The EFS staging share is deployed (the efs runner is in use). */
  staging: boolean;
  /** The config has deploy.vpc. */
  vpc: boolean;
}

export interface Placement {
  vpc: boolean;
  staging: 'write' | 'read' | false;
}

export type Placements = Record<StepName, Placement>;

export function placementOf(step: StepName, network: Network): Placement {
  const spec = STEPS[step];
  const staging = network.staging ? spec.staging : false;
  return { staging, vpc: Boolean(staging) || (spec.vpc && network.vpc) };
}
