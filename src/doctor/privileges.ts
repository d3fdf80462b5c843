/** Every privilege a complete dump needs, by engine; a line per kind, each naming what is missing. */
import { SQL_SERVER_SKIP } from './login.ts';
import { mysqlPrivileges } from './privileges-mysql.ts';
import { postgresPrivileges } from './privileges-postgres.ts';
import type { Check } from './types.ts';
import { skip } from './types.ts';

export const privilegesCheck: Check = {
  id: 'privileges',
  name: 'privileges',
  needs: ['login'],
  async run(context) {
    switch (context.target.engine) {
      case 'postgres':
        return postgresPrivileges(context);
      case 'mysql':
      case 'mariadb':
        return mysqlPrivileges(context);
      case 'mssql':
        return [skip('privileges', SQL_SERVER_SKIP)];
    }
  },
};
