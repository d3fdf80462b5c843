/** `stepvault list` and `stepvault restore`: the backups a target has in its destinations. */
import { loadConfig } from '../config/load.ts';
import { SecretResolver } from '../config/secrets.ts';
import { parseOptions } from './options.ts';
import { chooseTarget } from './preflight.ts';

export async function backupsCommand(
  command: 'list' | 'restore',
  args: string[],
  out: NodeJS.WritableStream & { isTTY?: boolean },
  err: NodeJS.WritableStream,
): Promise<number> {
  const { values } = parseOptions(command, args, {
    config: { type: 'string' },
    target: { type: 'string' },
    json: { type: 'boolean', default: false },
    from: { type: 'string' },
    backup: { type: 'string', default: 'latest' },
    into: { type: 'string' },
    force: { type: 'boolean', default: false },
    clean: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    'no-owner': { type: 'boolean', default: false },
    identity: { type: 'string' },
    database: { type: 'string' },
    all: { type: 'boolean', default: false },
  });
  const config = loadConfig(values.config);
  const target = chooseTarget(config, values.target).name;
  const secrets = new SecretResolver();
  if (command === 'list') {
    const { list } = await import('./list.ts');
    return list(config, { target, json: values.json, ...(values.from && { from: values.from }) }, secrets, out);
  }
  if (!values.into) {
    err.write('stepvault: restore needs --into URL, e.g. --into postgres://postgres@127.0.0.1:5432/orders_restored\n');
    return 2;
  }
  if (values.jobs !== undefined && !/^[1-9]\d*$/.test(values.jobs)) {
    err.write('stepvault: --jobs takes a whole number from 1\n');
    return 2;
  }
  const { restoreCommand } = await import('./restore.ts');
  return restoreCommand(
    config,
    {
      target,
      backup: values.backup,
      ...(values.from && { from: values.from }),
      into: values.into,
      force: values.force,
      clean: values.clean,
      ...(values.jobs && { jobs: Number(values.jobs) }),
      noOwner: values['no-owner'],
      ...(values.identity !== undefined && { identity: values.identity }),
      ...(values.database !== undefined && { database: values.database }),
      ...(values.all && { all: true }),
    },
    secrets,
    out,
    err,
  );
}
