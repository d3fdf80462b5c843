/** MySQL and MariaDB: one wire protocol and dump format, two client families (see dumpers/mysql.ts). */
import type { EngineInfo } from './types.ts';

const POSTGRES_ONLY = 'it is a PostgreSQL option; remove it';

function mysqlLike(label: string, scheme: string): EngineInfo {
  return {
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
    },
  };
}

export const mysql = mysqlLike('MySQL', 'mysql');
export const mariadb = mysqlLike('MariaDB', 'mariadb');
