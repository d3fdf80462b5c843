import type { EngineInfo } from './types.ts';

export const postgres: EngineInfo = {
  label: 'PostgreSQL',
  defaultPort: 5432,
  defaultUser: 'postgres',
  urlSchemes: ['postgres', 'postgresql'],
  restoreFamily: 'postgres',
  streams: true,
  wholeServer: { connectTo: 'postgres', skipped: ['template0', 'template1'] },
  dumpOptions: [
    'schemas',
    'excludeSchemas',
    'tables',
    'excludeTables',
    'excludeTableData',
    'noOwner',
    'compression',
    'compressionLevel',
    'jobs',
  ],
};
