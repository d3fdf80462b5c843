/**
 * The dump tool is there and new enough: pg_dump refuses a server of a newer major than its own
 * (so its major must be at least the server's); the MySQL family's tool is named with its
 * version beside the server's, since mariadb-dump dumps MySQL servers with known differences.
 */
import { MYSQL_DUMP_TOOLS, parseMysqlToolVersion } from '../dumpers/mysql.ts';
import { parsePgToolVersion, pgMajor } from '../tools/pg-version.ts';
import { resolveTool, toolVersionLine } from '../tools/resolver.ts';
import { SQL_SERVER_SKIP } from './login.ts';
import type { Check } from './types.ts';
import { fail, ok, skip } from './types.ts';

export const dumpToolCheck: Check = {
  id: 'tool',
  name: 'dump tool',
  needs: ['login'],
  async run({ target, facts }) {
    const server = facts.serverVersion ?? 'unknown';
    if (target.engine === 'mssql') return [skip('dump tool', SQL_SERVER_SKIP)];
    if (target.engine === 'postgres') {
      const pgDump = resolveTool(['pg_dump']);
      const version = parsePgToolVersion(await toolVersionLine(pgDump));
      const where = `pg_dump ${version} (${pgDump.origin})`;
      if (pgMajor(version) < pgMajor(server)) {
        return [
          fail(
            'dump tool',
            `${where} cannot dump the PostgreSQL ${server} server: pg_dump must be as new as the server`,
            `use pg_dump ${pgMajor(server)} or newer: deploy the dbtools layer, point STEPVAULT_TOOLS_DIR at a built layer, or install postgresql-client-${pgMajor(server)}`,
          ),
        ];
      }
      return [ok('dump tool', `${where} dumps PostgreSQL ${server}`)];
    }
    const tool = resolveTool(MYSQL_DUMP_TOOLS[target.engine]);
    const version = parseMysqlToolVersion(await toolVersionLine(tool));
    return [ok('dump tool', `${tool.name} ${version} (${tool.origin}) for server ${server}`)];
  },
};
