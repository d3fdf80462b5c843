import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readDefinition } from '../statemachine/definition.ts';
import { generateDeployment } from './generate.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');

describe('generated deployment', () => {
  it('lets Dump connect with an RDS IAM token for targets that use one, and nothing else does', () => {
    const text = fixture.replace(
      '    password: "ssm:/prod/orders/db-password"\n',
      '    iamAuth: true\n    rdsResourceId: cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0\n',
    );
    const deployment = generateDeployment(parseConfig(text, '/x/stepvault.config.yml', '/x'), 'ci', readDefinition());
    const statements = (fn: string) => JSON.stringify(deployment.resources.Resources[`${fn}FunctionRole`]);
    expect(statements('Dump')).toContain('rds-db:connect');
    // The one cluster's user, not any instance's.
    expect(statements('Dump')).toContain(':dbuser:cluster-ABCDEFGHIJKLMNOPQRSTUVWXY0/backup');
    expect(statements('Dump')).not.toContain('dbuser:*');
    expect(statements('Plan')).not.toContain('rds-db:connect');
    // The ssm parameter is no longer referenced, so no role may read it.
    expect(JSON.stringify(deployment.resources)).not.toContain('ssm:GetParameter');
  });

  it.each([
    ['10.0.3.17', 'a private address'],
    ['db', 'a name without a domain'],
    ['shop.internal', 'a private name'],
  ])('without deploy.vpc, refuses a dump on Lambda from %s, which the runner rule calls %s', (host, what) => {
    const text = fixture
      .replace(/ {2}vpc:\n(?: {4}.*\n)+/, '')
      .replace('    host: 10.0.3.17\n', `    host: ${host}\n    runner: lambda\n`);
    expect(text).not.toContain('vpc-0abc1234');
    expect(() =>
      generateDeployment(parseConfig(text, '/x/stepvault.config.yml', '/x'), 'ci', readDefinition()),
    ).toThrow(
      `targets.shop.host ${host} is ${what}, which Lambda reaches only inside its VPC: add deploy.vpc with id, subnetIds (one per availability zone) and, optionally, securityGroupIds`,
    );
  });
});
