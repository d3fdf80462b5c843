/** SQL Server writes its own backup (onto the staging share, or on RDS straight to S3): no dump.* option applies. */
import * as z from 'zod';
import type { EngineInfo } from './types.ts';

/**
 * A target's mssql: section. The server writes the backup itself: onto a share that is also the staging area, or on RDS
 * into S3.
 */
export const mssqlOptionsSchema = z
  .strictObject({
    /** share: BACKUP DATABASE onto the staging share; rds: RDS for SQL Server's rds_backup_database to S3. */
    mode: z.enum(['share', 'rds']).default('share'),
    /**
     * share mode: the staging folder as SQL Server sees it: \\\\fileserver\\backups, or /var/opt/mssql/backup on Linux.
     */
    sharePath: z.string().min(1).optional(),
    copyOnly: z.boolean().default(true),
    compression: z.boolean().default(true),
    /** share mode: run RESTORE VERIFYONLY on the backup before it is uploaded. */
    verifyOnly: z.boolean().default(false),
    /**
     * Give up when the backup has not finished after this many minutes (share mode: the BACKUP statement; rds mode: the
     * RDS task).
     */
    timeoutMinutes: z.int().min(5).max(1440).default(240),
  })
  .superRefine((options, ctx) => {
    if (options.mode === 'share' && !options.sharePath) {
      ctx.addIssue({
        code: 'custom',
        path: ['sharePath'],
        message:
          'is required in share mode: the staging folder as SQL Server sees it, e.g. "\\\\fileserver\\stepvault" (or mode: rds on Amazon RDS)',
      });
    }
  });

export const mssql: EngineInfo = {
  label: 'SQL Server',
  defaultPort: 1433,
  defaultUser: 'sa',
  urlSchemes: [],
  restoreFamily: undefined,
  // BACKUP DATABASE writes a file onto the share (or RDS into S3): there is no output to stream.
  streams: false,
  restoreHint:
    'SQL Server backups are restored by SQL Server itself: copy the .bak onto a share it reads and run RESTORE DATABASE … FROM DISK (README, "Restore")',
  dumpOptions: [],
  dumpOptionFixes: {
    compression: 'SQL Server compresses its own backup; use mssql.compression: true (the default)',
    compressionLevel: 'SQL Server compresses its own backup; use mssql.compression: true (the default)',
    tables: 'SQL Server backs up the whole database; remove it',
    excludeTables: 'SQL Server backs up the whole database; remove it',
    jobs: 'SQL Server writes its backup itself, with its own parallelism; remove it',
  },
  section: 'mssql',
  serverWrites: (target) =>
    target.mssql?.mode === 'rds'
      ? { mode: 'mssql rds mode', destinationTypes: ['s3'], timeoutSeconds: target.mssql.timeoutMinutes * 60 }
      : undefined,
};
