import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { dumpExtension } from './extension.ts';

const config = parseConfig(
  `destinations:
  local: { type: filesystem, path: ./b }
targets:
  pg: { engine: postgres, host: h, database: d, destinations: [local] }
  my: { engine: mysql, host: h, database: d, destinations: [local] }
  zst: { engine: mariadb, host: h, database: d, destinations: [local], dump: { compression: zstd } }
  ms: { engine: mssql, host: h, database: d, destinations: [local], mssql: { sharePath: '\\\\\\\\fs\\\\b' } }
`,
  '/x/stepvault.config.yml',
  '/x',
);

describe('dumpExtension', () => {
  it('names each engine’s dump as its tool writes it, and a MySQL dump by its compression', () => {
    const extensions = Object.fromEntries(Object.values(config.targets).map((t) => [t.name, dumpExtension(t)]));
    expect(extensions).toEqual({ pg: '.dump', my: '.sql.gz', zst: '.sql.zst', ms: '.bak' });
  });
});
