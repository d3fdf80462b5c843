/**
 * Files no test runs here (there is no Docker engine or GitHub runner): they must at least parse and say the right
 * things.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const read = async (file: string) => parse(await readFile(path.join(root, file), 'utf8'));

describe('repository files', () => {
  it('docker-compose.yml has every local peer: PostgreSQL, MySQL 8, MariaDB, SQL Server, MinIO, the SES emulator', async () => {
    const compose = await read('docker-compose.yml');
    expect(Object.keys(compose.services).sort()).toEqual(['mariadb', 'minio', 'mysql', 'postgres', 'ses', 'sqlserver']);
    expect(compose.services.mysql.image).toMatch(/^mysql:8/);
    for (const [name, service] of Object.entries(
      compose.services as Record<string, { image: string; ports: string[] }>,
    )) {
      expect(service.image, name).toBeTruthy();
      expect(service.ports?.length, name).toBeGreaterThan(0);
    }
  });

  it('the CI workflow runs the README’s test command on the node of .nvmrc', async () => {
    const ci = await read('.github/workflows/ci.yml');
    const steps = ci.jobs.test.steps as { run?: string; with?: Record<string, string> }[];
    expect(steps.some((s) => s.run === './scripts/test')).toBe(true);
    expect(steps.find((s) => s.with?.['node-version-file'])?.with?.['node-version-file']).toBe('.nvmrc');
    expect(Object.keys(ci.jobs.test.services)).toEqual(['postgres', 'mariadb']);
  });

  it('the deploy workflow assumes a role through OIDC and runs serverless deploy for a stage', async () => {
    const deploy = await read('.github/workflows/deploy.yml');
    expect(deploy.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    const steps = deploy.jobs.deploy.steps as { uses?: string; run?: string; with?: Record<string, string> }[];
    expect(
      steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'))?.with?.['role-to-assume'],
    ).toBe('${{ vars.AWS_DEPLOY_ROLE_ARN }}');
    expect(steps.some((s) => s.run?.includes('serverless deploy --stage'))).toBe(true);
  });
});
