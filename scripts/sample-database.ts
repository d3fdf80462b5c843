/**
 * Creates the database the embedded config backs up: `stepvault_sample` on the PostgreSQL at
 * 127.0.0.1:5432, a small shop with customers, orders and a view. Leaves it alone if it exists.
 *
 *   node scripts/sample-database.ts
 */
import { execFileSync } from 'node:child_process';
import { resolveTool } from '../src/tools/resolver.ts';

const DATABASE = 'stepvault_sample';
const psql = resolveTool(['psql']);
const connection = ['-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', '-XAtq', '-v', 'ON_ERROR_STOP=1'];

function sql(database: string, statement: string): string {
  return execFileSync(psql.file, [...psql.prefixArgs, ...connection, '-d', database, '-c', statement], {
    encoding: 'utf8',
  }).trim();
}

const exists = sql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${DATABASE}'`) === '1';
if (exists) {
  console.log(`sample database ${DATABASE} is already there`);
} else {
  sql('postgres', `CREATE DATABASE ${DATABASE}`);
  sql(
    DATABASE,
    `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, created_at timestamptz DEFAULT now());
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers, total numeric(10,2), items jsonb, placed_at timestamptz);
     INSERT INTO customers (name, email) SELECT 'Customer ' || g, 'customer' || g || '@example.test' FROM generate_series(1, 2000) g;
     INSERT INTO orders (customer_id, total, items, placed_at)
       SELECT 1 + g % 2000, round((random() * 500)::numeric, 2), jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 97, 'qty', 1 + g % 5)),
              now() - make_interval(days => g % 365)
       FROM generate_series(1, 20000) g;
     CREATE VIEW revenue_by_customer AS SELECT customer_id, sum(total) AS revenue FROM orders GROUP BY customer_id;`,
  );
  console.log(`created sample database ${DATABASE}: 2,000 customers, 20,000 orders`);
}
