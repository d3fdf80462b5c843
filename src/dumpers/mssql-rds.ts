/**
 * RDS for SQL Server cannot BACKUP … TO DISK onto a share; it backs up to S3 itself with
 * msdb.dbo.rds_backup_database, as a task whose progress rds_task_status reports. The state
 * machine polls it (Wait → CheckRdsBackup → Choice) until SUCCESS, ERROR or its time is up.
 */
import type { ConnectedTarget } from '../config/load.ts';
import { DumpError } from '../errors.ts';
import { quoteString, serverVersion, withConnection } from './mssql.ts';

export function rdsBackupStatement(database: string, s3Arn: string): string {
  return `EXEC msdb.dbo.rds_backup_database @source_db_name = ${quoteString(database, 'the database name')}, @s3_arn_to_backup_to = ${quoteString(s3Arn, 'the S3 ARN')}, @type = N'FULL', @overwrite_s3_backup_file = 0`;
}

export function rdsStatusStatement(taskId: number): string {
  if (!Number.isInteger(taskId) || taskId < 0) throw new DumpError(`${taskId} is not an RDS task id`);
  return `EXEC msdb.dbo.rds_task_status @task_id = ${taskId}`;
}

export async function startRdsBackup(
  target: ConnectedTarget,
  password: string | undefined,
  s3Arn: string,
): Promise<{ taskId: number; version: string }> {
  return withConnection(target, password, async (pool) => {
    const version = await serverVersion(pool);
    const result = await pool.request().batch<{ task_id: number }>(rdsBackupStatement(target.database, s3Arn));
    const taskId = Number(result.recordset?.[0]?.task_id);
    if (!Number.isInteger(taskId)) throw new DumpError(`rds_backup_database for ${target.name} returned no task id`);
    return { taskId, version };
  });
}

export interface RdsTaskStatus {
  lifecycle: string;
  percent: number;
  info: string;
}

export async function rdsTaskStatus(
  target: ConnectedTarget,
  password: string | undefined,
  taskId: number,
): Promise<RdsTaskStatus> {
  return withConnection(target, password, async (pool) => {
    const result = await pool.request().batch<Record<string, unknown>>(rdsStatusStatement(taskId));
    const row = result.recordset?.[0];
    if (!row) throw new DumpError(`rds_task_status knows no task ${taskId}`);
    return {
      lifecycle: String(row.lifecycle ?? 'UNKNOWN'),
      percent: Number(row['% complete'] ?? 0),
      info: String(row.task_info ?? ''),
    };
  });
}
