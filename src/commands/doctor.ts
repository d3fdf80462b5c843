/**
 * `stepvault doctor [--target NAME] [--json]`: will tonight's backup work? Every check, one line
 * each, from this machine; exit 0 when none fails, 1 when one does, 2 when the command cannot
 * start (bad option, bad config, unknown target), as every command.
 */
import { type Config, DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.ts';
import { SecretResolver } from '../config/secrets.ts';
import { CHECKS } from '../doctor/checks.ts';
import { formatJson, formatText } from '../doctor/report.ts';
import { runChecks } from '../doctor/run-checks.ts';
import { ConfigError } from '../errors.ts';
import { parseOptions } from './options.ts';
import { chooseTarget } from './preflight.ts';

/** How long a network probe may wait: long enough for a far region, short enough for 3 am. */
const PROBE_TIMEOUT_MS = 5_000;

export async function doctorCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseOptions('doctor', args, {
    config: { type: 'string' },
    target: { type: 'string' },
    json: { type: 'boolean', default: false },
    stage: { type: 'string' },
    region: { type: 'string' },
    'state-machine': { type: 'string' },
  });
  if (values.stage !== undefined || values['state-machine'] !== undefined) return onStage(values, out);
  if (values.region !== undefined)
    throw new ConfigError('doctor: --region goes with --stage (the checks made inside a deployment)');
  const config = loadConfig(values.config);
  const target = chooseTarget(config, values.target);
  const results = await runChecks(CHECKS, {
    config,
    target,
    secrets: new SecretResolver(),
    facts: {},
    timeoutMs: PROBE_TIMEOUT_MS,
    now: () => new Date(),
  });
  out.write(values.json ? formatJson(target.name, results) : formatText(target.name, results));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

interface StageValues {
  config?: string;
  target?: string;
  json?: boolean;
  stage?: string;
  region?: string;
  'state-machine'?: string;
}

/**
 * --stage: the same checks, made by the deployment's Doctor function. The target is checked
 * against the config here when there is one, so a typo is said before anything starts.
 */
async function onStage(values: StageValues, out: NodeJS.WritableStream): Promise<number> {
  if (values.stage === '') throw new ConfigError('doctor: --stage needs a stage name, e.g. --stage prod');
  const loaded = loadConfig(values.config);
  // The embedded sample is no deployment's config: the target is then the one --target names.
  const config: Config | undefined = loaded.source === 'embedded' ? undefined : loaded;
  if (!config && values.target === undefined)
    throw new ConfigError(
      `doctor: --stage needs --target NAME here: there is no ${DEFAULT_CONFIG_FILE} to choose the target from (or pass --config)`,
    );
  const target = config ? chooseTarget(config, values.target).name : values.target!;
  const [{ doctorOnStage }, { resolveRegion }] = await Promise.all([
    import('./doctor-stage.ts'),
    import('./region.ts'),
  ]);
  return doctorOnStage(
    {
      target,
      stage: values.stage ?? 'dev',
      region: await resolveRegion(values.region ?? config?.deploy?.region),
      json: values.json ?? false,
      ...(values['state-machine'] && { stateMachine: values['state-machine'] }),
    },
    out,
  );
}
