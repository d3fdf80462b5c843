/** SQL Server writes its own backup (onto the staging share, or on RDS straight to S3): no dump.* option applies. */
import type { EngineInfo } from './types.ts';

export const mssql: EngineInfo = {
  label: 'SQL Server',
  defaultPort: 1433,
  defaultUser: 'sa',
  urlSchemes: [],
  restoreFamily: undefined,
  restoreHint: 'SQL Server backups are restored by SQL Server itself: copy the .bak onto a share it reads and run RESTORE DATABASE … FROM DISK (README, "Restore")',
  dumpOptions: [],
  dumpOptionFixes: {
    compression: 'SQL Server compresses its own backup; use mssql.compression: true (the default)',
    compressionLevel: 'SQL Server compresses its own backup; use mssql.compression: true (the default)',
    tables: 'SQL Server backs up the whole database; remove it',
    excludeTables: 'SQL Server backs up the whole database; remove it',
  },
  section: 'mssql',
};
