/** `stepvault start` and `stepvault status`: the state machine deployed to AWS. */
import { loadConfig } from '../config/load.ts';
import { parseOptions } from './options.ts';
import { resolveRegion } from './region.ts';

export async function remoteCommand(
  command: 'start' | 'status',
  args: string[],
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseOptions(command, args, {
    target: { type: 'string' },
    wait: { type: 'boolean', default: false },
    stage: { type: 'string', default: 'dev' },
    region: { type: 'string' },
    'state-machine': { type: 'string' },
    name: { type: 'string' },
    config: { type: 'string' },
  });
  // A usage mistake is said before anything about AWS: it needs no region to be found.
  if (command === 'start' && !values.target) {
    err.write('stepvault: start needs --target NAME\n');
    return 2;
  }
  let region = values.region;
  if (!region) {
    try {
      region = loadConfig(values.config).deploy?.region;
    } catch {
      // No config here is fine: the SDK's own region settings apply.
    }
  }
  const common = {
    stage: values.stage,
    region: await resolveRegion(region),
    ...(values['state-machine'] && { stateMachine: values['state-machine'] }),
  };
  const [{ start }, { status }] = await Promise.all([import('./start.ts'), import('./status.ts')]);
  if (command === 'status') return status({ ...common, ...(values.target && { target: values.target }) }, out);
  return start(
    { ...common, target: values.target as string, wait: values.wait, ...(values.name && { name: values.name }) },
    out,
  );
}
