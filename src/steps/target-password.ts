/** The password a dump logs in with: an RDS IAM token signed now, or the target's secret, resolved now. */
import type { Target } from '../config/load.ts';
import { rdsAuthToken } from '../dumpers/iam-auth.ts';
import type { Runtime } from '../runtime.ts';

export async function targetPassword(target: Target, runtime: Runtime): Promise<string | undefined> {
  if (target.iamAuth) return rdsAuthToken(target);
  if (target.password === undefined) return undefined;
  return runtime.secrets.resolve(target.password, `targets.${target.name}.password`);
}
