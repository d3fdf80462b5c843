/** `stepvault list --target NAME [--json]`: a target's backups per destination, newest first, from manifests. */
import { listBackups, targetPrefix } from '../backups/listing.ts';
import { getTarget, type Config } from '../config/load.ts';
import type { SecretResolver } from '../config/secrets.ts';
import { formatBytes } from '../text/format.ts';
import { storageFor } from '../storage/registry.ts';

export async function list(
  config: Config,
  options: { target: string; json: boolean; from?: string },
  secrets: SecretResolver,
  out: { write(text: string): unknown },
): Promise<number> {
  const target = getTarget(config, options.target);
  const rows = [];
  for (const name of options.from ? [options.from] : target.destinations) {
    const storage = await storageFor(config, name, secrets);
    for (const backup of await listBackups(
      storage,
      targetPrefix(config.destinations[name]?.prefix, target.name),
      target.name,
    )) {
      const m = backup.manifest;
      rows.push({
        destination: name,
        createdAt: m.createdAt,
        size: m.size,
        sha256: m.sha256,
        tool: `${m.tool.name} ${m.tool.version}`,
        server: m.server.version,
        key: m.key,
        location: storage.locate(m.key),
      });
    }
  }
  rows.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (options.json) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    out.write(`no backups of ${target.name} in ${(options.from ? [options.from] : target.destinations).join(', ')}\n`);
    return 0;
  }
  const table = [
    ['CREATED', 'DESTINATION', 'SIZE', 'SHA-256', 'TOOL', 'SERVER', 'KEY'],
    ...rows.map((r) => [
      r.createdAt.replace(/\.\d{3}Z$/, 'Z'),
      r.destination,
      formatBytes(r.size),
      r.sha256.slice(0, 12),
      r.tool,
      r.server,
      r.key,
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    out.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd()}\n`,
    );
  return 0;
}
