/** `stepvault report --out FILE`: the status page as one self-contained HTML file (inline CSS and SVG, no requests). */
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config/load.ts';
import { SecretResolver } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import { collectStatus } from '../status/collect.ts';
import { healthOf } from '../status/health.ts';
import { renderStatusPage } from '../status/html.ts';
import { parseOptions } from './options.ts';

export async function reportCommand(args: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseOptions('report', args, { config: { type: 'string' }, out: { type: 'string' } });
  if (!values.out) throw new ConfigError('report: --out FILE is required, e.g. --out status.html');
  const config = loadConfig(values.config);
  const report = await collectStatus(config, new SecretResolver(), new Date());
  try {
    await writeFile(values.out, renderStatusPage(report, { linkTargets: false }));
  } catch (error) {
    throw new ConfigError(
      `report: cannot write ${values.out} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give --out a path in a folder you can write to`,
    );
  }
  const { body } = healthOf(report);
  out.write(`wrote ${values.out}: ${report.targets.length} targets, overall ${body.status}\n`);
  return 0;
}
