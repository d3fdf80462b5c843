/**
 * Prints the deployment serverless.yml needs (JSON on stdout) for a stage, from the config named
 * by --config or STEPVAULT_CONFIG (default stepvault.config.yml). Copies the config to where the
 * functions' package takes it from, and builds the dbtools layer for the architecture if it is
 * not built yet. Problems are printed as one sentence on stderr, exit code 2.
 *
 *   node scripts/generate-deployment.ts --stage prod
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildLayer } from '../layers/dbtools/build.ts';
import { loadConfig } from '../src/config/load.ts';
import { generateDeployment, PACKAGED_CONFIG } from '../src/deploy/generate.ts';
import { ConfigError } from '../src/errors.ts';
import { readDefinition } from '../src/statemachine/definition.ts';

const root = path.resolve(import.meta.dirname, '..');

try {
  const { values } = parseArgs({ options: { stage: { type: 'string', default: 'dev' }, config: { type: 'string' } } });
  const configFile = path.resolve(
    values.config ?? process.env.STEPVAULT_CONFIG ?? path.join(root, 'stepvault.config.yml'),
  );
  if (!existsSync(configFile))
    throw new ConfigError(
      `no config at ${configFile}: copy stepvault.config.example.yml to stepvault.config.yml, or set STEPVAULT_CONFIG`,
    );
  const config = loadConfig(configFile);
  const deployment = generateDeployment(config, values.stage, readDefinition());

  mkdirSync(path.join(root, path.dirname(PACKAGED_CONFIG)), { recursive: true });
  copyFileSync(configFile, path.join(root, PACKAGED_CONFIG));
  let layerArtifact =
    process.env.STEPVAULT_LAYER_ARTIFACT ??
    path.join(root, `layers/dbtools/dist/dbtools-${deployment.architecture}.zip`);
  if (!existsSync(layerArtifact)) {
    process.stderr.write(`stepvault: building the dbtools layer for ${deployment.architecture} (first time only)\n`);
    layerArtifact = (
      await buildLayer({ arch: deployment.architecture, log: (line) => process.stderr.write(`dbtools: ${line}\n`) })
    ).zip;
  }
  process.stdout.write(
    JSON.stringify({ ...deployment, configFile: PACKAGED_CONFIG, layerArtifact: path.relative(root, layerArtifact) }),
  );
} catch (error) {
  if (error instanceof ConfigError || (error as { name?: string }).name === 'LayerBuildError') {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  throw error;
}
