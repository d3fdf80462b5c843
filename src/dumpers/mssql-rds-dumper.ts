/**
 * RDS for SQL Server as a dumper of its own: the server writes the backup straight into the
 * target's one S3 destination (see mssql-rds.ts for the T-SQL), so nothing is staged; Dump starts
 * the task and CheckRdsBackup asks this dumper how it is going.
 */
import { serverWrites } from '../engines/registry.ts';
import { ConfigError } from '../errors.ts';
import { rdsTaskStatus, startRdsBackup } from './mssql-rds.ts';
import type { DestinationDumper, ServerTaskStatus } from './types.ts';

/** rds_task_status's lifecycles: anything else is still on its way. */
const ENDED: Record<string, ServerTaskStatus['state']> = { SUCCESS: 'succeeded', ERROR: 'failed', CANCELLED: 'failed' };

export const mssqlRdsDumper: DestinationDumper = {
  writes: 'destination',

  async start({ target, password, destination, key }) {
    if (destination.config.type !== 's3') {
      throw new ConfigError(
        `targets.${target.name}: mssql rds mode writes to an s3 destination, and ${destination.name} is not one`,
      );
    }
    const { taskId, version } = await startRdsBackup(
      target,
      password,
      `arn:aws:s3:::${destination.config.bucket}/${key}`,
    );
    return {
      taskId,
      compression: target.mssql!.compression ? 'mssql-compressed' : 'mssql',
      tool: { name: 'rds_backup_database', version },
      serverVersion: version,
    };
  },

  async status(target, password, taskId) {
    const status = await rdsTaskStatus(target, password, taskId);
    return { state: ENDED[status.lifecycle] ?? 'running', ...status };
  },

  timeoutSeconds: (target) => serverWrites(target)!.timeoutSeconds,
  timeoutHint: 'raise mssql.timeoutMinutes or look at rds_task_status',
};
