/**
 * Generates the benchmark database, several tables of different shapes with the same rows on
 * PostgreSQL and MariaDB (see scripts/bench/tables.ts), of about the given size on PostgreSQL.
 *
 *   node scripts/generate-database.ts [--size-mb 1024] [--engines postgres,mariadb] [--database NAME] [--reuse]
 */
import { parseArgs } from 'node:util';
import { formatBytes } from '../src/text/format.ts';
import { type BenchEngine, ensureDatabase } from './bench/databases.ts';
import { benchDatabaseName } from './bench/tables.ts';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '1024' },
    engines: { type: 'string', default: 'postgres' },
    database: { type: 'string' },
    reuse: { type: 'boolean', default: false },
  },
});
const sizeMb = Number(values['size-mb']);
if (!Number.isInteger(sizeMb) || sizeMb < 1)
  throw new Error(`--size-mb takes a whole number of MiB, not ${values['size-mb']}`);
const engines = values.engines.split(',').map((e) => e.trim());
for (const engine of engines)
  if (engine !== 'postgres' && engine !== 'mariadb')
    throw new Error(`--engines takes postgres, mariadb or both (postgres,mariadb), not ${engine}`);
const name = values.database ?? benchDatabaseName(sizeMb);
for (const engine of engines as BenchEngine[]) {
  const db = ensureDatabase(engine, name, sizeMb, {
    reuse: values.reuse,
    log: (line) => process.stdout.write(`\r${line}`.padEnd(80)),
  });
  console.log(`\n${engine} ${db.name}: ${formatBytes(db.bytes)}${db.reused ? ' (reused)' : ''}`);
}
