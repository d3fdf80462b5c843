/** MySQL and MariaDB: one wire protocol and dump format, two client families (see dumpers/mysql.ts). */
import type { EngineInfo } from './types.ts';

const POSTGRES_ONLY = 'it is a PostgreSQL option; remove it';

/**
 * A whole server: every database but the system schemas, whose users and grants go into the
 * globals (MariaDB: mariadb-dump --system=users; MySQL: SHOW CREATE USER and SHOW GRANTS).
 */
const MYSQL_SERVER = {
  connectTo: 'mysql',
  skipped: ['mysql', 'information_schema', 'performance_schema', 'sys'],
} as const;

function mysqlLike(label: string, scheme: string): EngineInfo {
  return {
    wholeServer: MYSQL_SERVER,
    label,
    defaultPort: 3306,
    defaultUser: 'root',
    urlSchemes: [scheme],
    restoreFamily: 'mysql',
    streams: true,
    dumpOptions: ['tables', 'excludeTables', 'compression', 'compressionLevel'],
    dumpOptionFixes: {
      schemas: POSTGRES_ONLY,
      excludeSchemas: POSTGRES_ONLY,
      excludeTableData: POSTGRES_ONLY,
      noOwner: POSTGRES_ONLY,
      jobs: `parallel dumps are PostgreSQL's (pg_dump --jobs in its directory format); ${label}'s dump is one SQL stream from one connection, so remove it`,
    },
  };
}

export const mysql = mysqlLike('MySQL', 'mysql');
export const mariadb = mysqlLike('MariaDB', 'mariadb');
