'use strict';
// serverless.yml reads the deployment through this file: `${file(./scripts/serverless/deployment.cjs):…}`.
// It runs scripts/generate-deployment.ts (TypeScript, on the Node 24 running serverless) once
// per serverless process, for the stage being packaged or deployed.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

let cached;

module.exports = async ({ options }) => {
  if (!cached) {
    const script = path.join(__dirname, '..', 'generate-deployment.ts');
    let output;
    try {
      output = execFileSync(process.execPath, [script, '--stage', options.stage || 'dev'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      // serverless shows the reason on one line: fold the config's indented list of problems into it.
      const reason = String(error.stderr || error.message)
        .trim()
        .replace(/\s*\n\s*/g, ' ');
      throw new Error(`stepvault cannot be deployed as configured: ${reason}`);
    }
    cached = JSON.parse(output);
  }
  return cached;
};
