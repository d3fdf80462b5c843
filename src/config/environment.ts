/**
 * How a process that runs one step of a run (a Lambda function, the fargate runner's task) is
 * given the run's config: the path of a file in $STEPVAULT_CONFIG (the deployed way: the file is
 * packaged with the functions and baked into the image), or, for a config that is no file (the
 * embedded sample), its text in $STEPVAULT_CONFIG_YAML, its relative paths taken from the
 * process's working folder.
 */
import path from 'node:path';
import { type Config, loadConfig, parseConfig } from './load.ts';

export const CONFIG_ENV = { file: 'STEPVAULT_CONFIG', text: 'STEPVAULT_CONFIG_YAML' } as const;

/** The source a config read from $STEPVAULT_CONFIG_YAML reports (as the embedded sample does). */
const TEXT_SOURCE = 'embedded';

/** The config the environment names; without either variable, stepvault.config.yml in `home`. */
export function configFromEnvironment(env: NodeJS.ProcessEnv, home: string, cwd = process.cwd()): Config {
  const text = env[CONFIG_ENV.text];
  if (text !== undefined) return parseConfig(text, TEXT_SOURCE, cwd);
  return loadConfig(env[CONFIG_ENV.file] ?? path.join(home, 'stepvault.config.yml'), cwd);
}

/**
 * What a child process running a step of this run needs to read the same config: its environment and working folder.
 */
export function configHandover(config: Config): { env: Record<string, string>; cwd?: string } {
  if (path.isAbsolute(config.source)) return { env: { [CONFIG_ENV.file]: config.source } };
  if (!config.origin)
    throw new Error(`the config from ${config.source} cannot be handed to another process: neither a file nor text`);
  return { env: { [CONFIG_ENV.text]: config.origin.text }, cwd: config.origin.baseDir };
}
