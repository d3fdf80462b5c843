/**
 * Size anomaly alerts through the real workflow: a PostgreSQL target backed up again after most of
 * its rows are deleted, then after many more are added. Every run succeeds; past
 * alerts.sizeChangePercent the success mail says so in its subject and body, and SizeAnomaly is 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, PG, psql, uniqueName } from './helpers/postgres.ts';
import { configFor, type RunRecord, workspacePool } from './helpers/workspace.ts';

const database = uniqueName('sv_size');
const pool = workspacePool();

beforeAll(async () => {
  await createDatabase(database);
  // md5 text does not compress away: the dump's size follows the row count.
  await psql(
    database,
    `CREATE TABLE t AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 40000) g`,
  );
});

afterAll(async () => {
  await pool.removeAll();
  await dropDatabase(database);
});

const target = (alerts?: Record<string, unknown>) => ({
  engine: 'postgres',
  host: PG.host,
  port: PG.port,
  user: PG.user,
  database,
  runner: 'efs',
  retention: { keepLast: 10 },
  ...(alerts && { alerts }),
});

const at = (day: number) => () => new Date(`2026-11-${String(day).padStart(2, '0')}T03:00:00Z`);

function dumpSize(record: RunRecord): number {
  const size = record.state.dump?.size;
  if (size === undefined) throw new Error(`the run has no dump size (${record.status}: ${record.cause ?? ''})`);
  return size;
}

function sizeAnomalyMetric(record: RunRecord): unknown {
  return record.metrics.find((m) => 'SizeAnomaly' in m)?.SizeAnomaly;
}

describe('alerts.sizeChangePercent', () => {
  it('says nothing of the first backup, warns when the dump shrinks or grows past the threshold, and not within it', async () => {
    const workspace = await pool.withConfig(configFor(target({ sizeChangePercent: 50 })));

    const first = await workspace.run('main', { now: at(1) });
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect(first.state.verify?.sizeAnomaly).toBeUndefined();
    expect(sizeAnomalyMetric(first)).toBe(0);
    expect(first.logs.join('\n')).toContain('no previous backup to compare the size with');

    // 5% fewer rows: within 50%.
    await psql(database, 'DELETE FROM t WHERE id % 20 = 0');
    const within = await workspace.run('main', { now: at(2) });
    expect(within.status, within.cause).toBe('SUCCEEDED');
    expect(within.state.verify?.sizeAnomaly).toBeUndefined();
    expect(sizeAnomalyMetric(within)).toBe(0);

    // Nine rows in ten gone: a dropped table or the wrong database looks like this.
    await psql(database, 'DELETE FROM t WHERE id % 10 <> 0');
    const smaller = await workspace.run('main', { now: at(3) });
    expect(smaller.status, smaller.cause).toBe('SUCCEEDED');
    const shrunk = smaller.state.verify?.sizeAnomaly;
    expect(shrunk).toMatchObject({ direction: 'smaller', thresholdPercent: 50 });
    expect(shrunk!.changePercent).toBeGreaterThan(70);
    expect(shrunk!.previousSize).toBe(dumpSize(within));
    expect(shrunk!.size).toBe(dumpSize(smaller));
    expect(sizeAnomalyMetric(smaller)).toBe(1);
    expect(smaller.logs.join('\n')).toMatch(/size anomaly: \d+(\.\d)?% smaller than the previous backup/);

    await psql(
      database,
      `INSERT INTO t SELECT g, md5(g::text) || md5((g * 3)::text) FROM generate_series(100001, 160000) g`,
    );
    const larger = await workspace.run('main', { now: at(4) });
    expect(larger.status, larger.cause).toBe('SUCCEEDED');
    expect(larger.state.verify?.sizeAnomaly).toMatchObject({ direction: 'larger' });
    expect(larger.state.verify!.sizeAnomaly!.changePercent).toBeGreaterThan(100);
    expect(sizeAnomalyMetric(larger)).toBe(1);

    const mails = await workspace.outbox();
    expect(mails).toHaveLength(4);
    const subjects = mails.map((m) => m.headers.subject ?? '');
    expect(subjects.filter((s) => s.includes('SIZE ANOMALY'))).toHaveLength(2);
    const shrunkMail = mails.find((m) =>
      /SIZE ANOMALY: [\d.]+% smaller than the previous/.test(m.headers.subject ?? ''),
    );
    expect(shrunkMail, subjects.join('\n')).toBeDefined();
    expect(shrunkMail!.body).toContain('Size anomaly');
    expect(shrunkMail!.body).toContain('smaller than the previous backup');
    expect(shrunkMail!.body).toContain('alerts.sizeChangePercent is 50');
    expect(shrunkMail!.body).toContain('check that the right database was dumped');
    expect(mails.some((m) => /SIZE ANOMALY: [\d.]+% larger than the previous/.test(m.headers.subject ?? ''))).toBe(
      true,
    );
  });

  it('is off without alerts: no comparison, no metric', async () => {
    const workspace = await pool.withConfig(configFor(target()));
    const first = await workspace.run('main', { now: at(10) });
    await psql(database, 'DELETE FROM t WHERE id % 2 = 0');
    const second = await workspace.run('main', { now: at(11) });
    expect(second.status, second.cause).toBe('SUCCEEDED');
    expect(dumpSize(second)).toBeLessThan(dumpSize(first) * 0.7);
    expect(second.state.verify?.sizeAnomaly).toBeUndefined();
    expect(sizeAnomalyMetric(second)).toBeUndefined();
  });

  it('takes the threshold from defaults.alerts', async () => {
    const config = configFor(target());
    (config.defaults as Record<string, unknown>).alerts = { sizeChangePercent: 10 };
    const workspace = await pool.withConfig(config);
    await workspace.run('main', { now: at(20) });
    await psql(database, 'DELETE FROM t WHERE id % 3 = 0');
    const second = await workspace.run('main', { now: at(21) });
    expect(second.state.verify?.sizeAnomaly).toMatchObject({ direction: 'smaller', thresholdPercent: 10 });
  });
});
