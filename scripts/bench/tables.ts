/**
 * The benchmark database: five tables of different shapes (wide mixed rows, long documents,
 * money, narrow time series, a small dimension table), defined once for both engines so that
 * PostgreSQL and MariaDB hold the same rows and their dumps compare. Every value is a function of
 * the row number `g`, so a table regenerated anywhere holds the same bytes: text that compresses
 * about as real text does (hashes are noise, repeated words are not), numbers, JSON, binary.
 */

export interface BenchTable {
  name: string;
  /** This table's part of the database's size. */
  share: number;
  /** Rows per MiB of database (data and index), measured on PostgreSQL; MariaDB gets the same rows. */
  rowsPerMb: number;
  postgres: { create: string; select: string };
  mariadb: { create: string; select: string };
}

export const BENCH_TABLES: readonly BenchTable[] = [
  {
    name: 'events',
    share: 0.35,
    rowsPerMb: 3_300,
    postgres: {
      create:
        'CREATE TABLE events (id bigint PRIMARY KEY, kind text, body text, attrs jsonb, digest bytea, at timestamptz)',
      select: `SELECT g, (ARRAY['click','view','buy','refund'])[1 + g % 4],
        md5(g::text) || ' ' || repeat(chr(97 + (g % 26)::int), (40 + g % 60)::int),
        jsonb_build_object('user', g % 100000, 'session', md5((g % 5000)::text), 'tags', jsonb_build_array(g % 10, g % 7)),
        decode(md5((g * 13)::text), 'hex'), timestamptz '2026-01-01' + make_interval(secs => g)`,
    },
    mariadb: {
      create:
        'CREATE TABLE events (id bigint PRIMARY KEY, kind varchar(16), body text, attrs json, digest binary(16), at datetime)',
      select: `SELECT g, ELT(1 + g % 4, 'click','view','buy','refund'),
        CONCAT(MD5(g), ' ', REPEAT(CHAR(97 + g % 26), 40 + g % 60)),
        JSON_OBJECT('user', g % 100000, 'session', MD5(g % 5000), 'tags', JSON_ARRAY(g % 10, g % 7)),
        UNHEX(MD5(g * 13)), TIMESTAMP '2026-01-01 00:00:00' + INTERVAL g SECOND`,
    },
  },
  {
    name: 'documents',
    share: 0.25,
    rowsPerMb: 890,
    postgres: {
      create: 'CREATE TABLE documents (id bigint PRIMARY KEY, title text, body text, revised date)',
      select: `SELECT g, 'Document ' || g || ' on ' || (ARRAY['billing','shipping','returns','accounts'])[1 + g % 4],
        repeat('The customer ' || (g % 997) || ' asked about order ' || (g % 7919) || ' and was answered. ', (10 + g % 30)::int),
        date '2020-01-01' + (g % 2000)::int`,
    },
    mariadb: {
      create: 'CREATE TABLE documents (id bigint PRIMARY KEY, title varchar(64), body mediumtext, revised date)',
      select: `SELECT g, CONCAT('Document ', g, ' on ', ELT(1 + g % 4, 'billing','shipping','returns','accounts')),
        REPEAT(CONCAT('The customer ', g % 997, ' asked about order ', g % 7919, ' and was answered. '), 10 + g % 30),
        DATE '2020-01-01' + INTERVAL (g % 2000) DAY`,
    },
  },
  {
    name: 'order_lines',
    share: 0.2,
    rowsPerMb: 11_500,
    postgres: {
      create:
        'CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint, product_id int, quantity int, price numeric(12,2), discount numeric(5,2))',
      select: 'SELECT g, g / 4, (g * 31 % 50000)::int, (1 + g % 9)::int, (g % 100000) / 100.0, (g % 30) / 100.0',
    },
    mariadb: {
      create:
        'CREATE TABLE order_lines (id bigint PRIMARY KEY, order_id bigint, product_id int, quantity int, price decimal(12,2), discount decimal(5,2))',
      select: 'SELECT g, g DIV 4, g * 31 % 50000, 1 + g % 9, (g % 100000) / 100.0, (g % 30) / 100.0',
    },
  },
  {
    name: 'measurements',
    share: 0.15,
    rowsPerMb: 12_600,
    postgres: {
      create:
        'CREATE TABLE measurements (id bigint PRIMARY KEY, sensor int, taken timestamp, reading double precision)',
      select: `SELECT g, (g % 500)::int, timestamp '2025-01-01' + make_interval(secs => g * 10), sin(g / 1000.0) * 100`,
    },
    mariadb: {
      create: 'CREATE TABLE measurements (id bigint PRIMARY KEY, sensor int, taken datetime, reading double)',
      select: `SELECT g, g % 500, TIMESTAMP '2025-01-01 00:00:00' + INTERVAL (g * 10) SECOND, SIN(g / 1000.0) * 100`,
    },
  },
  {
    name: 'customers',
    share: 0.05,
    rowsPerMb: 9_750,
    postgres: {
      create: 'CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text, country char(2), created date)',
      select: `SELECT g, 'Customer ' || g, 'customer' || g || '@example.com',
        (ARRAY['PT','DE','FR','US','BR','JP'])[1 + g % 6], date '2018-01-01' + (g % 3000)::int`,
    },
    mariadb: {
      create:
        'CREATE TABLE customers (id bigint PRIMARY KEY, name varchar(64), email varchar(128), country char(2), created date)',
      select: `SELECT g, CONCAT('Customer ', g), CONCAT('customer', g, '@example.com'),
        ELT(1 + g % 6, 'PT','DE','FR','US','BR','JP'), DATE '2018-01-01' + INTERVAL (g % 3000) DAY`,
    },
  },
];

/** How many rows each table gets for a database of about `sizeMb` MiB: the same on every engine. */
export function rowsFor(table: BenchTable, sizeMb: number): number {
  return Math.max(1, Math.round(table.rowsPerMb * table.share * sizeMb));
}

/** Rows are inserted in batches of this many, each its own statement. */
export const BATCH_ROWS = 200_000;

/** A database's name says its size: `--reuse` takes it only if it was generated for that size. */
export function benchDatabaseName(sizeMb: number): string {
  return `stepvault_bench_${sizeMb}mb`;
}
