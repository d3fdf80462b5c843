import type { Engine } from '../config/schema.ts';
import { mssqlDumper } from './mssql.ts';
import { mysqlDumper } from './mysql.ts';
import { postgresDumper } from './postgres.ts';
import type { Dumper } from './types.ts';

/** One dumper per engine. Adding an engine: a file beside this one and a line here. */
const DUMPERS: Record<Engine, Dumper> = {
  postgres: postgresDumper,
  mysql: mysqlDumper('mysql'),
  mariadb: mysqlDumper('mariadb'),
  mssql: mssqlDumper,
};

export function dumperFor(engine: Engine): Dumper {
  return DUMPERS[engine];
}
