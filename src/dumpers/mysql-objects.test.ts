import { describe, expect, it } from 'vitest';
import type { ConnectedTarget } from '../config/load.ts';
import {
  checkBeforeDump,
  checkDumpHolds,
  DumpedObjectCounter,
  missingReadGrants,
  parseGrantLine,
  parseServerView,
} from './mysql-objects.ts';

const target: ConnectedTarget = {
  name: 'shop',
  engine: 'mariadb',
  host: 'shop.internal',
  port: 3306,
  database: 'shop',
  user: 'backup',
  tls: { mode: 'prefer' },
  dump: {},
  timezone: 'UTC',
  staging: '/tmp/s',
  destinations: ['local'],
  notify: [],
  retention: { keepLast: 7 },
  runner: 'efs',
  runnerReason: 'host db.internal is a private name, reached only from inside its network',
};

describe('grants a complete MySQL/MariaDB dump needs', () => {
  it('reads SHOW GRANTS lines, without column grants', () => {
    expect(parseGrantLine('GRANT SELECT, LOCK TABLES, SHOW VIEW ON `shop`.* TO `backup`@`%`')).toEqual({
      privileges: ['SELECT', 'LOCK TABLES', 'SHOW VIEW'],
      scope: 'shop.*',
    });
    expect(parseGrantLine('GRANT SELECT (a, b), INSERT ON `shop`.`t` TO `backup`@`%`')).toEqual({
      privileges: ['SELECT', 'INSERT'],
      scope: 'shop.t',
    });
    expect(parseGrantLine('GRANT `reader` TO `backup`@`%`')).toBeUndefined();
  });

  it('finds a typical backup user without routine access, and without TRIGGER', () => {
    const grants = [
      'GRANT USAGE ON *.* TO `backup`@`%`',
      'GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT ON `shop`.* TO `backup`@`%`',
    ];
    expect(missingReadGrants(grants, 'shop').map((m) => m.kind)).toEqual(['routines', 'triggers']);
  });

  it.each([
    [['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION']],
    [['GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON *.* TO `backup`@`%`']],
    [['GRANT SELECT, TRIGGER ON `shop`.* TO `backup`@`%`', 'GRANT SELECT ON `mysql`.`proc` TO `reader`']],
    [['GRANT SELECT, TRIGGER, SHOW CREATE ROUTINE ON `shop`.* TO `backup`@`%`']],
    [['GRANT SELECT, TRIGGER ON `shop`.* TO `backup`@`%`', 'GRANT SHOW_ROUTINE ON *.* TO `backup`@`%`']],
    [['GRANT ALL PRIVILEGES ON `shop`.* TO `app`@`%`']],
    [['GRANT SELECT, TRIGGER, EXECUTE ON `shop`.* TO `backup`@`%`']],
  ])('accepts every way of reading all routines and triggers: %j', (grants) => {
    expect(missingReadGrants(grants, 'shop')).toEqual([]);
  });

  it('does not take another database’s grants for this one', () => {
    expect(
      missingReadGrants(
        ['GRANT ALL PRIVILEGES ON `other`.* TO `backup`@`%`', 'GRANT SELECT ON `mysql`.`proc` TO `backup`@`%`'],
        'shop',
      ).map((m) => m.kind),
    ).toEqual(['triggers']);
    expect(
      missingReadGrants(['GRANT EXECUTE, TRIGGER ON `other`.* TO `backup`@`%`'], 'shop').map((m) => m.kind),
    ).toEqual(['routines', 'triggers']);
  });

  it('fails before the dump with the GRANT that fixes it', () => {
    const view = parseServerView(
      '#grants\nGRANT SELECT ON `shop`.* TO `backup`@`%`\n#ssl\nSsl_cipher\t\n#counts\n2\t1\t1\t1\n',
    );
    expect(view.visible).toEqual({ routines: 2, triggers: 1, events: 1, views: 1 });
    expect(() => checkBeforeDump(view, target)).toThrow(
      /may not read the database's routines and triggers: the dump would leave them out.*GRANT SELECT ON mysql\.proc.*GRANT TRIGGER ON `shop`\.\*/,
    );
    expect(() => checkBeforeDump(view, target)).toThrow(expect.objectContaining({ name: 'ConfigError' }));
  });

  it('fails when TLS is required and the connection is in clear text', () => {
    const view = parseServerView(
      '#grants\nGRANT ALL PRIVILEGES ON *.* TO `root`@`%`\n#ssl\nSsl_cipher\t\n#counts\n0\t0\t0\t0\n',
    );
    expect(() => checkBeforeDump(view, { ...target, tls: { mode: 'require' } })).toThrow(
      /not encrypted although targets\.shop\.tls\.mode is require/,
    );
    expect(() => checkBeforeDump(view, target)).not.toThrow();
    expect(() =>
      checkBeforeDump({ ...view, sslCipher: 'TLS_AES_256_GCM_SHA384' }, { ...target, tls: { mode: 'verify-full' } }),
    ).not.toThrow();
  });
});

describe('objects counted in the dump', () => {
  const dump = [
    '/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`127.0.0.1`*/ /*!50003 TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW',
    "INSERT INTO `t` VALUES (1,'CREATE PROCEDURE x'),(2,'y');",
    '/*!50001 CREATE VIEW `expensive` AS SELECT',
    "/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`127.0.0.1`*/ /*!50106 EVENT `purge_log` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DO DELETE FROM t */ ;;",
    'CREATE DEFINER=`root`@`127.0.0.1` FUNCTION `double_it`(x INT) RETURNS int(11)',
    'CREATE DEFINER=`odd user`@`%` PROCEDURE `add_customer`(IN n VARCHAR(100))',
    'CREATE TABLE `procedure_log` (',
    '/*!50001 VIEW `expensive` AS select `customers`.`id` AS `id` from `customers` */;',
    '-- Dump completed on 2026-12-04',
  ].join('\n');

  async function count(chunks: Buffer[]) {
    const counter = new DumpedObjectCounter();
    counter.resume();
    for (const chunk of chunks) counter.write(chunk);
    await new Promise((resolve) => counter.end(resolve));
    return counter.counts;
  }

  it('counts routines, triggers, events and views from line starts', async () => {
    expect(await count([Buffer.from(dump)])).toEqual({ routines: 2, triggers: 1, events: 1, views: 1 });
  });

  it('counts the same whatever the chunk boundaries', async () => {
    const bytes = Buffer.from(dump);
    for (const size of [1, 2, 7, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(await count(chunks)).toEqual({ routines: 2, triggers: 1, events: 1, views: 1 });
    }
  });

  it('fails a dump that holds fewer objects than the server showed', () => {
    const visible = { routines: 2, triggers: 1, events: 1, views: 1 };
    expect(() => checkDumpHolds(visible, { ...visible, routines: 0 }, target)).toThrow(
      /missing objects: 0 of 2 routines/,
    );
    expect(() => checkDumpHolds(visible, visible, target)).not.toThrow();
    // Some tables only: other tables' triggers and views are rightly left out.
    expect(() =>
      checkDumpHolds(visible, { ...visible, triggers: 0, views: 0 }, { ...target, dump: { excludeTables: ['x'] } }),
    ).not.toThrow();
  });
});
