/**
 * Debian's `age` command-line tool, the other implementation the encrypted backups must agree
 * with: /usr/bin/age where the package is installed, else the one scripts/lib/age.sh unpacked
 * into .tools/age, else the one STEPVAULT_AGE_CLI names.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '../..');

export function ageCli(tool: 'age' | 'age-keygen' = 'age'): string {
  const candidates = [
    ...(process.env.STEPVAULT_AGE_CLI ? [path.join(path.dirname(process.env.STEPVAULT_AGE_CLI), tool)] : []),
    `/usr/bin/${tool}`,
    path.join(ROOT, '.tools/age/usr/bin', tool),
  ];
  const found = candidates.find((file) => existsSync(file));
  if (!found)
    throw new Error(
      `Debian's ${tool} is missing: run ./scripts/test (which installs it), or apt-get install age, or set STEPVAULT_AGE_CLI`,
    );
  return found;
}

export async function age(args: string[]): Promise<string> {
  return (await run(ageCli(), args, { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 })).stdout;
}

/** A new key pair from age-keygen itself: the identity file and its recipient. */
export async function ageKeygen(file: string): Promise<string> {
  const { stderr } = await run(ageCli('age-keygen'), ['-o', file]);
  return /Public key: (age1[0-9a-z]+)/.exec(stderr)![1]!;
}
