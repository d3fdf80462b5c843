import { describe, expect, it } from 'vitest';
import { configuredConnection, parseConfig } from '../config/load.ts';
import { serverWrites } from '../engines/registry.ts';
import { dumperFor } from './registry.ts';
import { serverDumper } from './server.ts';

// One target of every engine, and SQL Server in both its modes.
const config = parseConfig(
  `destinations:
  local: { type: filesystem, path: ./b }
  bucket: { type: s3, bucket: backups }
targets:
  pg: { engine: postgres, host: h, database: d, destinations: [local] }
  my: { engine: mysql, host: h, database: d, destinations: [local] }
  maria: { engine: mariadb, host: h, database: d, destinations: [local] }
  share: { engine: mssql, host: h, database: d, destinations: [local], mssql: { sharePath: '\\\\\\\\fs\\\\b' } }
  rds: { engine: mssql, host: h, database: d, destinations: [bucket], mssql: { mode: rds, timeoutMinutes: 30 } }
`,
  '/x/stepvault.config.yml',
  '/x',
);

describe('dumpers', () => {
  it('write into a destination exactly where the engine says its server does, for as long as it says', () => {
    const writes = Object.fromEntries(Object.values(config.targets).map((t) => [t.name, dumperFor(t).writes]));
    expect(writes).toEqual({ pg: 'staging', my: 'staging', maria: 'staging', share: 'staging', rds: 'destination' });
    for (const target of Object.values(config.targets)) {
      const dumper = dumperFor(target);
      expect(dumper.writes === 'destination', target.name).toBe(serverWrites(target) !== undefined);
      if (dumper.writes === 'destination')
        expect(dumper.timeoutSeconds(configuredConnection(target))).toBe(serverWrites(target)!.timeoutSeconds);
    }
    expect(serverWrites(config.targets.rds!)).toMatchObject({ timeoutSeconds: 30 * 60, destinationTypes: ['s3'] });
  });
});

describe('a whole server', () => {
  it('is dumped database by database on every engine that offers it', () => {
    const servers = parseConfig(
      `destinations: { local: { type: filesystem, path: ./b } }
targets:
  pg: { engine: postgres, host: h, databases: all, destinations: [local] }
  my: { engine: mysql, host: h, databases: [a, b], destinations: [local] }
  maria: { engine: mariadb, host: h, databases: all, destinations: [local] }
`,
      '/x/stepvault.config.yml',
      '/x',
    );
    for (const target of Object.values(servers.targets)) expect(dumperFor(target), target.name).toBe(serverDumper);
    for (const target of Object.values(config.targets)) expect(dumperFor(target), target.name).not.toBe(serverDumper);
  });
});
