/**
 * `stepvault serve`: the Step Functions API on this machine, backed by local runs, and the status
 * page (`/`, `/targets/NAME`, `/health`) on the same port. Bound to 127.0.0.1 only: put a reverse
 * proxy with authentication in front to show it to others.
 */
import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { createJsonLogger } from '../observability/log.ts';
import { parseOptions } from './options.ts';

export async function serveCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseOptions('serve', args, {
    config: { type: 'string' },
    port: { type: 'string', default: '8083' },
  });
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new ConfigError('serve: --port takes a port number from 0 to 65535, e.g. --port 8083');
  }
  const config = loadConfig(values.config);
  const [{ startSfnServer }, { createRuntime }, { statusHandler }, { collectStatus }, { SecretResolver }] =
    await Promise.all([
      import('../local/sfn-server.ts'),
      import('../runtime.ts'),
      import('../status/routes.ts'),
      import('../status/collect.ts'),
      import('../config/secrets.ts'),
    ]);
  const secrets = new SecretResolver();
  const status = statusHandler(() => collectStatus(config, secrets, new Date()));
  const server = await startSfnServer(
    () => createRuntime(config, { logger: (sinks) => createJsonLogger({ level: 'error', sinks }) }),
    { port: Number(values.port), otherRequests: (req, res) => void status(req, res) },
  );
  out.write(`Status page on ${server.url}/ (health: ${server.url}/health)\n`);
  out.write(`Step Functions API on ${server.url}, state machine ${server.stateMachineArn}\n`);
  out.write(
    `  AWS_ENDPOINT_URL_SFN=${server.url} stepvault start --state-machine ${server.stateMachineArn} --target NAME --wait\n`,
  );
  out.write(
    `  aws stepfunctions --endpoint-url ${server.url} start-execution --state-machine-arn ${server.stateMachineArn} --input '{"target":"NAME"}'\n`,
  );
  await new Promise(() => undefined);
  return 0;
}
