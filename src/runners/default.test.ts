import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { defaultRunner, privateHost, type RunnerFacts } from './default.ts';

const facts = (overrides: Partial<RunnerFacts>): RunnerFacts => ({
  engine: 'postgres',
  host: 'db.example.com',
  streams: true,
  drill: false,
  parallel: false,
  vpcNamed: false,
  ...overrides,
});

describe('the default runner', () => {
  it.each([
    ['10.0.3.7', 'a private address'],
    ['172.20.1.1', 'a private address'],
    ['192.168.1.10', 'a private address'],
    ['127.0.0.1', 'a private address'],
    ['169.254.10.1', 'a private address'],
    ['100.64.0.9', 'a private address'],
    ['[::1]', 'a private address'],
    ['fd12:3456::1', 'a private address'],
    ['fe80::1', 'a private address'],
    ['::ffff:10.1.2.3', 'a private address'],
    ['/var/run/postgresql', 'a socket folder'],
    ['localhost', 'a name without a domain'],
    ['db', 'a name without a domain'],
    ['orders.internal', 'a private name'],
    ['pg.svc.cluster.local', 'a private name'],
    ['nas.home.arpa', 'a private name'],
  ])('takes %s for %s', (host, what) => {
    expect(privateHost(host)).toBe(what);
  });

  it.each(['203.0.113.7', '8.8.8.8', '172.32.0.1', '[2001:db8::5]', 'db.example.com', 'x.rds.amazonaws.com'])(
    'takes %s for public',
    (host) => {
      expect(privateHost(host)).toBeUndefined();
    },
  );

  it('streams from a public host with lambda, and keeps private ones, drills and SQL Server on efs', () => {
    expect(defaultRunner(facts({}))).toEqual({ runner: 'lambda', reason: 'host db.example.com is public' });
    expect(defaultRunner(facts({ host: '10.0.3.7' }))).toEqual({
      runner: 'efs',
      reason: 'host 10.0.3.7 is a private address, reached only from inside its network',
    });
    expect(defaultRunner(facts({ drill: true }))).toEqual({
      runner: 'efs',
      reason: 'the restore drill restores the staged dump, which only efs keeps',
    });
    expect(defaultRunner(facts({ parallel: true }))).toEqual({
      runner: 'efs',
      reason: 'dump.jobs runs pg_dump in parallel into a folder on disk, which efs stages',
    });
    expect(defaultRunner(facts({ wholeServer: true }))).toEqual({
      runner: 'efs',
      reason: 'databases dumps each database of the server into a folder on disk, which efs stages',
    });
    expect(defaultRunner(facts({ engine: 'mssql', streams: false }))).toEqual({
      runner: 'efs',
      reason: 'engine mssql writes its backup file itself, which only efs stages',
    });
  });

  it('keeps a config that names a VPC on efs for every host given by name, and streams from a public address', () => {
    expect(defaultRunner(facts({ vpcNamed: true }))).toEqual({
      runner: 'efs',
      reason: 'deploy.vpc is set and host db.example.com is a name that may resolve inside it',
    });
    expect(defaultRunner(facts({ vpcNamed: true, host: '203.0.113.7' }))).toEqual({
      runner: 'lambda',
      reason: 'host 203.0.113.7 is public',
    });
  });

  it('is what a loaded config says of each target, unless the target or defaults name a runner', () => {
    const config = parseConfig(
      `deploy: { region: eu-west-1, vpc: { id: vpc-0abc, subnetIds: [subnet-0abc] } }
defaults: { destinations: [local] }
destinations: { local: { type: filesystem, path: ./backups } }
targets:
  public: { engine: postgres, host: 198.51.100.4, database: a }
  named: { engine: mariadb, host: shop.example.com, database: b }
  asked: { engine: mariadb, host: shop.example.com, database: b, runner: lambda }
  auto: { engine: postgres, host: 198.51.100.4, database: a, runner: auto }
`,
      'runners.yml',
      '/',
    );
    const { public: open, named, asked, auto } = config.targets as Record<string, (typeof config.targets)[string]>;
    expect([open!.runner, open!.runnerReason]).toEqual(['lambda', 'host 198.51.100.4 is public']);
    expect([named!.runner, named!.runnerReason]).toEqual([
      'efs',
      'deploy.vpc is set and host shop.example.com is a name that may resolve inside it',
    ]);
    expect([asked!.runner, asked!.runnerReason]).toEqual(['lambda', 'targets.asked.runner is lambda']);
    expect(auto!.runnerAuto).toEqual({
      fargateAbove: 0.5,
      below: { runner: 'lambda', reason: 'host 198.51.100.4 is public' },
    });
  });
});
