import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.ts';
import { readDefinition } from '../statemachine/definition.ts';
import { generateDeployment } from './generate.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');

describe('generated deployment', () => {
  it('lets Dump connect with an RDS IAM token for targets that use one, and nothing else does', () => {
    const text = fixture.replace('    password: "ssm:/prod/orders/db-password"\n', '    iamAuth: true\n');
    const deployment = generateDeployment(parseConfig(text, '/x/stepvault.config.yml', '/x'), 'ci', readDefinition());
    const statements = (fn: string) => JSON.stringify(deployment.resources.Resources[`${fn}FunctionRole`]);
    expect(statements('Dump')).toContain('rds-db:connect');
    expect(statements('Dump')).toContain(':dbuser:*/backup');
    expect(statements('Plan')).not.toContain('rds-db:connect');
    // The ssm parameter is no longer referenced, so no role may read it.
    expect(JSON.stringify(deployment.resources)).not.toContain('ssm:GetParameter');
  });
});
