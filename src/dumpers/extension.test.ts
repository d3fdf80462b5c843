import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { dumpExtension } from './extension.ts';

const config = parseConfig(
  `destinations:
  local: { type: filesystem, path: ./b }
targets:
  pg: { engine: postgres, host: h, database: d, destinations: [local] }
  pgj: { engine: postgres, host: h, database: d, destinations: [local], dump: { jobs: 2 } }
  my: { engine: mysql, host: h, database: d, destinations: [local] }
  gz: { engine: mariadb, host: h, database: d, destinations: [local], dump: { compression: gzip } }
  old: { engine: mariadb, host: h, database: d, destinations: [local], dump: { compressionLevel: 6 } }
  raw: { engine: mysql, host: h, database: d, destinations: [local], dump: { compression: none } }
  pgz: { engine: postgres, host: h, database: d, destinations: [local], dump: { compression: gzip } }
  ms: { engine: mssql, host: h, database: d, destinations: [local], mssql: { sharePath: '\\\\\\\\fs\\\\b' } }
`,
  '/x/stepvault.config.yml',
  '/x',
);

describe('dumpExtension', () => {
  it('names each engine’s dump as its tool writes it, a parallel PostgreSQL dump as a tar, a MySQL dump by its compression', () => {
    const extensions = Object.fromEntries(Object.values(config.targets).map((t) => [t.name, dumpExtension(t)]));
    // A level alone is gzip's, as before methods could be chosen; the default is zstd.
    expect(extensions).toEqual({
      pg: '.dump',
      pgj: '.dump.tar',
      my: '.sql.zst',
      gz: '.sql.gz',
      old: '.sql.gz',
      raw: '.sql',
      pgz: '.dump',
      ms: '.bak',
    });
  });
});
