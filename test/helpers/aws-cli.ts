/**
 * Debian's AWS CLI v2 as a test's client: /usr/bin/aws when it is Debian's, else the copy scripts/lib/awscli.sh
 * unpacks into .tools/awscli. scripts/test installs it when missing; a test that needs it fails saying so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const UNPACKED = path.join(import.meta.dirname, '../../.tools/awscli/aws');

export function awsCliPath(): string {
  for (const candidate of ['/usr/bin/aws', UNPACKED]) {
    if (!existsSync(candidate)) continue;
    const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' });
    if (/^aws-cli\/2\..*debian/.test(version)) return candidate;
  }
  throw new Error("Debian's AWS CLI v2 is missing: scripts/test installs it (apt-get install awscli as root)");
}

export interface AwsResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout read as JSON, when there is any. */
  json: Record<string, unknown>;
}

/** `aws <args>` with dummy credentials and no pager or config of this machine's user. */
export function aws(args: string[], env: NodeJS.ProcessEnv = {}): Promise<AwsResult> {
  const cli = awsCliPath();
  return new Promise((resolve) => {
    execFile(
      cli,
      [...args, '--output', 'json'],
      {
        env: {
          PATH: process.env.PATH,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_PAGER: '',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr, json: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {} });
      },
    );
  });
}
