/**
 * The checks a command makes before it starts anything: which config, which target, and that
 * every secret the run will need resolves. A mistake found here is the user's to fix before a
 * run: it exits 2 with the reason and nothing is staged, stored or mailed. Plan keeps the same
 * checks for runs started in AWS, where nobody is at a terminal.
 */
import path from 'node:path';
import { destinationSecrets } from '../config/destination-secrets.ts';
import { DEFAULT_CONFIG_FILE, getTarget, type Config, type Target } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';

/** The target a command is about: --target, or the config's only one. */
export function chooseTarget(config: Config, flag: string | undefined, cwd = process.cwd()): Target {
  if (config.source === 'embedded' && flag !== undefined && !Object.hasOwn(config.targets, flag)) {
    // The embedded sample is a demo, not the user's config: "unknown target" would mislead.
    throw new ConfigError(
      `no config found: there is no ${DEFAULT_CONFIG_FILE} in ${cwd} and no --config was given; ` +
        `write one (stepvault.config.example.yml shows every key) or pass --config FILE`,
    );
  }
  if (flag !== undefined) return getTarget(config, flag);
  const targets = Object.keys(config.targets);
  if (targets.length === 1) return getTarget(config, targets[0]!);
  throw new ConfigError(`name a target with --target (this config has ${targets.join(', ')})`);
}

/**
 * Every secret reference without which a run of this target fails, with its config path. An
 * optional destination's keys are left to the run: failing there does not fail the backup.
 */
export function secretReferencesOf(config: Config, target: Target): { reference: string; where: string }[] {
  const found: { reference: string; where: string }[] = [];
  const add = (reference: string | undefined, where: string) => {
    if (reference !== undefined) found.push({ reference, where });
  };
  if (!target.iamAuth) add(target.password, `targets.${target.name}.password`);
  add(target.verify?.drill?.password, `targets.${target.name}.verify.drill.password`);
  for (const name of target.destinations) {
    const destination = config.destinations[name];
    if (destination && destination.required !== false) {
      for (const secret of destinationSecrets(name, destination)) add(secret.reference, secret.where);
    }
  }
  return found;
}

/** Resolves them all now (the resolver caches them for the run), so a missing one stops the command here. */
export async function checkSecrets(config: Config, target: Target, secrets: SecretResolver): Promise<void> {
  for (const { reference, where } of secretReferencesOf(config, target)) await secrets.resolve(reference, where);
}

/** How a config's origin is named in output. */
export function describeSource(config: Config, cwd = process.cwd()): string {
  return config.source === 'embedded'
    ? 'the embedded sample config'
    : path.relative(cwd, config.source) || config.source;
}
