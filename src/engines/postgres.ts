import type { EngineInfo } from './types.ts';

export const postgres: EngineInfo = {
  label: 'PostgreSQL',
  defaultPort: 5432,
  defaultUser: 'postgres',
  urlSchemes: ['postgres', 'postgresql'],
  restoreFamily: 'postgres',
  streams: true,
  dumpOptions: [
    'schemas',
    'excludeSchemas',
    'tables',
    'excludeTables',
    'excludeTableData',
    'noOwner',
    'compressionLevel',
  ],
  dumpOptionFixes: { compression: 'PostgreSQL compresses its own custom format; set only dump.compressionLevel (0-9)' },
};
