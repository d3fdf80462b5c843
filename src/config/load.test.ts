import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { getTarget, loadConfig, parseConfig } from './load.ts';

const VALID = `
defaults:
  timezone: UTC
  staging: ./staging
  destinations: [local]
  notify: [desk]
  retention: { keepLast: 7 }
destinations:
  local: { type: filesystem, path: ./backups }
notifications:
  desk: { type: outbox, path: ./outbox, on: [failure, success] }
targets:
  orders:
    engine: postgres
    host: db.internal
    port: 5432
    database: orders
    user: backup
    password: env:ORDERS_DB_PASSWORD
    schedule: { cron: "0 3 * * ? *", timezone: Europe/Lisbon }
    retention: { keepLast: 3, daily: 7, weekly: 4, monthly: 12 }
  shop:
    engine: mariadb
    host: shop.internal
    database: shop
    dump: { compression: zstd, excludeTables: [sessions] }
`;

/** The message a user sees for a config text, or a failure if it parses. */
function problems(yaml: string): string {
  try {
    parseConfig(yaml, '/etc/stepvault/stepvault.config.yml', '/etc/stepvault');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('the config was accepted');
}

describe('config', () => {
  it('merges defaults into targets and resolves paths against the config folder', () => {
    const config = parseConfig(VALID, '/etc/stepvault/stepvault.config.yml', '/etc/stepvault');
    const orders = getTarget(config, 'orders');
    expect(orders).toMatchObject({
      engine: 'postgres',
      port: 5432,
      timezone: 'Europe/Lisbon',
      staging: '/etc/stepvault/staging',
      destinations: ['local'],
      notify: ['desk'],
      retention: { keepLast: 3, daily: 7, weekly: 4, monthly: 12 },
      password: 'env:ORDERS_DB_PASSWORD',
      tls: { mode: 'prefer' },
    });
    const shop = getTarget(config, 'shop');
    expect(shop).toMatchObject({
      port: 3306,
      timezone: 'UTC',
      retention: { keepLast: 7 },
      dump: { compression: 'zstd' },
    });
    expect(config.destinations.local).toMatchObject({ type: 'filesystem', path: '/etc/stepvault/backups' });
    expect(config.notifications.desk).toMatchObject({ path: '/etc/stepvault/outbox' });
  });

  it('gives a target its own fargate size, else the defaults’ whole section', () => {
    const yaml = VALID.replace(
      '  retention: { keepLast: 7 }\n',
      '  retention: { keepLast: 7 }\n  fargate: { cpu: 512, memory: 4096 }\n',
    ).replace(
      '    database: shop\n',
      '    database: shop\n    fargate: { cpu: 4096, memory: 30720, ephemeralStorageGiB: 200 }\n',
    );
    const config = parseConfig(yaml, '/etc/stepvault/stepvault.config.yml', '/etc/stepvault');
    expect(getTarget(config, 'orders').fargate).toEqual({ cpu: 512, memory: 4096 });
    expect(getTarget(config, 'shop').fargate).toEqual({ cpu: 4096, memory: 30720, ephemeralStorageGiB: 200 });
    expect(getTarget(parseConfig(VALID, '/x/stepvault.config.yml', '/x'), 'orders').fargate).toBeUndefined();
  });

  it('names the path and what to add for a missing field', () => {
    expect(problems(VALID.replace('    database: orders\n', ''))).toBe(
      'stepvault.config.yml has a problem:\n  targets.orders.database: is required; add "database:" under targets.orders, or give the whole connection as url: env:DATABASE_URL',
    );
  });

  it('suggests the key that was meant for an unknown key', () => {
    expect(problems(VALID.replace('    host: db.internal', '    hots: db.internal\n    host: db.internal'))).toContain(
      'targets.orders.hots: unknown key; did you mean "host"?',
    );
    expect(problems(VALID.replace('  timezone: UTC', '  colour: blue'))).toContain(
      'defaults.colour: unknown key; remove it; allowed here: timezone, staging, destinations, notify, retention, alerts, schedule',
    );
  });

  it('says what type was expected and what was given', () => {
    expect(problems(VALID.replace('port: 5432', 'port: "5432"'))).toContain(
      'targets.orders.port: expected a number, got "5432" (a string) (write it without quotes)',
    );
    expect(problems(VALID.replace('destinations: [local]', 'destinations: local'))).toContain(
      'defaults.destinations: expected an array, got "local" (a string)',
    );
  });

  it('lists the engines for an unknown engine', () => {
    expect(problems(VALID.replace('engine: mariadb', 'engine: oracle'))).toContain(
      'targets.shop.engine: "oracle" (a string) is not allowed; use one of "postgres", "mysql", "mariadb", "mssql"',
    );
  });

  it('lists the destination types for an unknown type', () => {
    expect(problems(VALID.replace('type: filesystem', 'type: ftp'))).toContain(
      'destinations.local.type: "ftp" (a string) is not supported; use one of "filesystem"',
    );
  });

  it('points at the line of malformed YAML', () => {
    const message = problems('targets:\n  orders:\n    engine: postgres\n   host: [oops\n');
    expect(message).toMatch(/^stepvault\.config\.yml is not valid YAML:\n {2}line \d+, column \d+: /);
    expect(message).toContain('Check the indentation and quoting near that line.');
  });

  it('refuses a literal password and never echoes it', () => {
    const message = problems(VALID.replace('password: env:ORDERS_DB_PASSWORD', 'password: hunter2-secret'));
    expect(message).toContain(
      'targets.orders.password: must be a secret reference (env:NAME, ssm:/path or secretsmanager:ARN#key), never the secret itself',
    );
    expect(message).not.toContain('hunter2');
  });

  it('catches references to destinations and notifications that do not exist', () => {
    expect(
      problems(
        VALID.replace(
          '    retention: { keepLast: 3',
          '    destinations: [local, offsite]\n    retention: { keepLast: 3',
        ),
      ),
    ).toContain(
      'targets.orders.destinations[1]: no destination named "offsite"; define it under destinations: (defined: local)',
    );
  });

  it('rejects dump options of another engine and a bad time zone', () => {
    expect(problems(VALID.replace('dump: { compression: zstd', 'dump: { noOwner: true, compression: zstd'))).toContain(
      'targets.shop.dump.noOwner: does not apply to engine mariadb; it is a PostgreSQL option; remove it',
    );
    expect(problems(VALID.replace('timezone: Europe/Lisbon', 'timezone: Mars/Olympus'))).toContain(
      'targets.orders.schedule.timezone: is not an IANA time zone',
    );
  });

  it('lists the known targets for an unknown one', () => {
    const config = parseConfig(VALID, '/x/stepvault.config.yml', '/x');
    expect(() => getTarget(config, 'order')).toThrow(
      'unknown target "order" in stepvault.config.yml; known targets: orders, shop',
    );
  });

  it('says which file is missing, and falls back to the embedded sample when none is named', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stepvault-config-'));
    expect(() => loadConfig('nope.yml', dir)).toThrow(
      'config file nope.yml does not exist; pass --config with the path of your stepvault.config.yml',
    );
    const embedded = loadConfig(undefined, dir);
    expect(embedded.source).toBe('embedded');
    expect(embedded.targets.sample).toMatchObject({
      engine: 'postgres',
      database: 'stepvault_sample',
      staging: path.join(dir, '.stepvault/staging'),
    });
    await writeFile(path.join(dir, 'stepvault.config.yml'), VALID);
    expect(Object.keys(loadConfig(undefined, dir).targets)).toEqual(['orders', 'shop']);
  });

  it('refuses names a tool would read as an option, with the rule', () => {
    expect(problems(VALID.replace('database: shop', 'database: "--version"'))).toContain(
      'targets.shop.database: must not start with "-": a database tool would read it as an option; rename it, or leave it out',
    );
    expect(problems(VALID.replace('excludeTables: [sessions]', 'tables: ["--where=1=0"]'))).toContain(
      'targets.shop.dump.tables[0]: must not start with "-"',
    );
    expect(problems(VALID.replace('host: db.internal', 'host: "db.internal,evil"'))).toContain(
      'targets.orders.host: must be a host name, an IP address or a socket folder',
    );
  });

  it('bounds every string and refuses control characters, naming the path and escaping what it shows', () => {
    const long = problems(VALID.replace('database: orders', `database: ${'x'.repeat(5000)}`));
    expect(long).toBe(
      'stepvault.config.yml has a problem:\n  targets.orders.database: this value is 5000 characters long; at most 2048 are allowed (a config holds names, paths and references, never data)',
    );
    expect(problems(VALID.replace('database: orders', 'database: "orders\\nx"'))).toContain(
      'targets.orders.database: this value contains a newline; write it on one line',
    );
    expect(problems(VALID.replace('database: orders', 'database: "ord\\u0000ers"'))).toContain(
      'targets.orders.database: this value contains a NUL byte',
    );
    expect(problems(VALID.replace('  orders:\n', '  "ord\\ters":\n'))).toContain(
      'targets.ord\\ters: this key contains a tab',
    );
  });

  it('keeps a prefix inside its destination and a password out of the drill URL', () => {
    expect(problems(VALID.replace('path: ./backups }', 'path: ./backups, prefix: ../../etc }'))).toContain(
      'destinations.local.prefix: must stay inside the destination: a relative folder such as "db" or "backups/prod", without ".." and not starting with "/"',
    );
    expect(
      problems(
        VALID.replace(
          '    retention: { keepLast: 3',
          '    verify: { drill: { into: "postgres://u:hunter2@scratch/drill" } }\n    retention: { keepLast: 3',
        ),
      ),
    ).toContain('targets.orders.verify.drill.into: must not carry a password');
  });

  it('states the name rule for a bad target name', () => {
    expect(problems(VALID.replace('  shop:\n', '  "-shop":\n'))).toContain(
      'targets.-shop: "-shop" cannot be a name here: use letters, digits, "-" and "_" (at most 63), starting with a letter or digit',
    );
  });

  it('turns an alias bomb into a config error', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`),
    ].join('\n');
    expect(problems(bomb)).toMatch(
      /^stepvault\.config\.yml uses YAML aliases \(\*name\) that expand too far .*; write the values out instead of nesting aliases$/,
    );
  });
});
