import type { Target } from '../config/load.ts';
import { serverWrites, type Engine } from '../engines/registry.ts';
import { mssqlDumper } from './mssql.ts';
import { mssqlRdsDumper } from './mssql-rds-dumper.ts';
import { mysqlDumper } from './mysql.ts';
import { postgresDumper } from './postgres.ts';
import { postgresDirectoryDumper } from './postgres-directory.ts';
import { serverDumper } from './server.ts';
import { isParallelDump } from './extension.ts';
import type { Dumper } from './types.ts';

/**
 * The dumper of each engine, chosen for a target: SQL Server has two, as its mssql.mode says
 * (the server writes onto the staging share, or on RDS straight into S3). Adding an engine: a
 * file beside this one and a line here. PostgreSQL has two as well: one stream, or with dump.jobs
 * above 1 the directory format in parallel; a target with databases (a whole server) has its own.
 */
const DUMPERS: Record<Engine, (target: Target) => Dumper> = {
  postgres: (target) =>
    target.databases ? serverDumper : isParallelDump(target) ? postgresDirectoryDumper : postgresDumper,
  mysql: (target) => (target.databases ? serverDumper : mysqlDumper('mysql')),
  mariadb: (target) => (target.databases ? serverDumper : mysqlDumper('mariadb')),
  mssql: (target) => (serverWrites(target) ? mssqlRdsDumper : mssqlDumper),
};

export function dumperFor(target: Target): Dumper {
  return DUMPERS[target.engine](target);
}
