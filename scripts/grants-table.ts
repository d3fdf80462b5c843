/**
 * Writes the README's "what the template grants" table from the template `serverless package`
 * writes (into .serverless/, as test/deploy-package.test.ts packages and compares) for the
 * packaging fixture at stage ci, offline, with a stand-in layer (its contents grant nothing), then
 * formats the README. Run it after changing a grant: `npm run grants` (a minute or two).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GRANTS_BEGIN, GRANTS_END, grantsTable, readmeGrants } from '../src/deploy/grants-table.ts';

const root = path.resolve(import.meta.dirname, '..');
const readmeFile = path.join(root, 'README.md');
const scratch = mkdtempSync(path.join(tmpdir(), 'stepvault-grants-'));
try {
  writeFileSync(path.join(scratch, 'placeholder'), 'layer');
  execFileSync('zip', ['-q', 'layer.zip', 'placeholder'], { cwd: scratch });
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  execFileSync('npm', ['run', '-s', 'package', '--', '--stage', 'ci'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...env,
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      STEPVAULT_CONFIG: path.join(root, 'test/fixtures/deploy.config.yml'),
      STEPVAULT_LAYER_ARTIFACT: path.join(scratch, 'layer.zip'),
    },
  });
  const template = JSON.parse(
    readFileSync(path.join(root, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
  ) as { Resources: Record<string, unknown> };
  const readme = readFileSync(readmeFile, 'utf8');
  const table = grantsTable(template.Resources);
  const current = `${GRANTS_BEGIN}${readmeGrants(readme)}${GRANTS_END}`;
  writeFileSync(readmeFile, readme.replace(current, `${GRANTS_BEGIN}\n\n${table}\n\n${GRANTS_END}`));
  execFileSync(path.join(root, 'node_modules/.bin/biome'), ['format', '--write', readmeFile], { stdio: 'inherit' });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
