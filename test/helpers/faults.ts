/**
 * What the fault suite checks after every fault: what a workspace's destination holds (each
 * backup with its manifest and the bytes' SHA-256), a small tmpfs to fill up, and a MariaDB user
 * with exactly the privileges a test gives it.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { mariadb } from './mariadb.ts';

const run = promisify(execFile);

export interface PublishedBackup {
  /** The dump's path under the destination folder. */
  key: string;
  /** SHA-256 of the bytes on disk now. */
  sha256: string;
  /** SHA-256 the manifest recorded. */
  manifestSha256: string;
}

/** Every file under `folder` that is a dump with its manifest; a dump without one is reported as such. */
export async function publishedBackups(folder: string): Promise<{ backups: PublishedBackup[]; orphans: string[] }> {
  const entries = (await readdir(folder, { recursive: true }).catch(() => [] as string[])).map(String).sort();
  const manifests = entries.filter((e) => e.endsWith('.manifest.json'));
  const backups: PublishedBackup[] = [];
  for (const manifest of manifests) {
    const key = manifest.slice(0, -'.manifest.json'.length);
    const recorded = JSON.parse(await readFile(path.join(folder, manifest), 'utf8')) as { sha256: string };
    const bytes = await readFile(path.join(folder, key));
    backups.push({ key, sha256: createHash('sha256').update(bytes).digest('hex'), manifestSha256: recorded.sha256 });
  }
  const files = entries.filter((e) => /\.(dump|sql\.gz|sql\.zst)$/.test(e));
  const orphans = files.filter((f) => !manifests.includes(`${f}.manifest.json`));
  // Anything else a run might leave: temporary files beside the dumps.
  const strays = entries.filter((e) => /\.(tmp|part|partial)$|\.stepvault-/.test(path.basename(e)));
  return { backups, orphans: [...orphans, ...strays] };
}

/** A tmpfs of `size` mounted on `dir` (root only); unmount it in afterAll. */
export async function mountTmpfs(dir: string, size = '1m'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

export async function unmount(dir: string): Promise<void> {
  await run('umount', [dir]).catch(() => undefined);
}

/**
 * A MariaDB user with a random password, exactly `privileges` on `database`, and `elsewhere` (e.g. "SELECT ON
 * mysql.proc").
 */
export async function mariaUser(
  database: string,
  privileges: string,
  elsewhere: string[] = [],
): Promise<{ user: string; password: string; drop(): Promise<void> }> {
  const user = `sv_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const grants = [
    `GRANT ${privileges} ON \`${database}\`.* TO '${user}'@'%'`,
    ...elsewhere.map((g) => `GRANT ${g} TO '${user}'@'%'`),
  ];
  await mariadb(undefined, `CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; ${grants.join('; ')}`);
  return { user, password, drop: () => mariadb(undefined, `DROP USER IF EXISTS '${user}'@'%'`).then(() => undefined) };
}

/** A process of this machine whose command line contains `text` (e.g. a test database's unique name). */
export async function processesMentioning(text: string): Promise<{ pid: number; args: string }[]> {
  const { stdout } = await run('ps', ['-eo', 'pid=,args=']);
  return stdout
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(text) && !m[2]!.startsWith('ps '))
    .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
}

/** Resolves when `check` holds, polling every 50 ms; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
