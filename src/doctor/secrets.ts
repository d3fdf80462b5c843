/**
 * The config's part: the file loaded (or the command would have stopped with exit 2), every
 * secret reference the target's run resolves, one line each with its config path, and the
 * connection those give (a URL target's URL is parsed and checked against the keys beside it).
 */
import { destinationSecrets } from '../config/destination-secrets.ts';
import { looksLikeSecretReference } from '../config/secrets.ts';
import { describeSource, secretReferencesOf } from '../commands/preflight.ts';
import { configuredConnection } from '../config/load.ts';
import { engineInfo } from '../engines/registry.ts';
import { connectTarget } from '../steps/target-connection.ts';
import type { Check, CheckResult, DoctorContext } from './types.ts';
import { fail, ok, skip } from './types.ts';

/** Every reference a run of the target may resolve, with its config path, each once. */
export function referencesToCheck({ config, target }: Pick<DoctorContext, 'config' | 'target'>) {
  const found = secretReferencesOf(config, target);
  if (target.url) found.unshift({ reference: target.url.reference, where: `targets.${target.name}.url` });
  for (const name of target.destinations) {
    const destination = config.destinations[name];
    // secretReferencesOf leaves an optional destination's keys to the run; doctor asks anyway.
    if (destination?.required === false) found.push(...destinationSecrets(name, destination));
  }
  for (const name of target.notify) {
    const settings = config.notifications[name];
    if (settings?.type === 'smtp') {
      if (settings.user && looksLikeSecretReference(settings.user))
        found.push({ reference: settings.user, where: `notifications.${name}.user` });
      if (settings.password) found.push({ reference: settings.password, where: `notifications.${name}.password` });
    }
    if (settings?.type === 'webhook') found.push({ reference: settings.url, where: `notifications.${name}.url` });
  }
  const seen = new Set<string>();
  return found.filter(({ where }) => !seen.has(where) && seen.add(where));
}

/**
 * The config check; `notReadHere` gives the reason a reference is not resolved where doctor runs
 * (inside a deployment, the secrets another function's role alone may read), or undefined.
 */
export function configCheckWith(notReadHere: (where: string) => string | undefined): Check {
  return { ...configCheck, run: (context) => checkConfig(context, notReadHere) };
}

export const configCheck: Check = {
  id: 'config',
  name: 'config',
  run: (context) => checkConfig(context, () => undefined),
};

async function checkConfig(
  context: DoctorContext,
  notReadHere: (where: string) => string | undefined,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    ok('config', `${describeSource(context.config)} loaded; target ${context.target.name} (${context.target.engine})`),
  ];
  for (const { reference, where } of referencesToCheck(context)) {
    const scheme = reference.slice(0, reference.indexOf(':') + 1);
    const reason = notReadHere(where);
    if (reason) {
      results.push(skip(`secret ${where}`, reason));
      continue;
    }
    try {
      await context.secrets.resolve(reference, where);
      results.push(ok(`secret ${where}`, `resolves (${scheme})`));
    } catch (error) {
      results.push(fail(`secret ${where}`, (error as Error).message, fixFor(reference)));
    }
  }
  return results;
}

function fixFor(reference: string): string {
  if (reference.startsWith('env:')) return `export ${reference.slice(4)}=… before the run`;
  if (reference.startsWith('ssm:')) return 'create the parameter, or grant ssm:GetParameter on it';
  return 'create the secret (and the key after #), or grant secretsmanager:GetSecretValue on it';
}

/**
 * Where the server is. A target configured by url learns it only from the URL, so that is
 * resolved now; otherwise the config says it, and the password waits for the login (a missing
 * password must not hide whether the host is reachable).
 */
export const connectionCheck: Check = {
  id: 'connection',
  name: 'connection',
  async run(context) {
    const { target } = context;
    const connected = target.url ? (await connectTarget(target, context.secrets)).target : configuredConnection(target);
    context.facts.connection = { target: connected };
    return [
      ok(
        'connection',
        `${connected.user ?? engineInfo(connected.engine).defaultUser}@${connected.host}:${connected.port}/${connected.database}, tls.mode ${connected.tls.mode}${target.url ? ' (from the URL)' : ''}`,
      ),
    ];
  },
};
