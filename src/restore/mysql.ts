/** Restores a compressed SQL dump into MySQL or MariaDB through their client, creating the database when missing. */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { firstErrorLine, toolEnvironment } from '../dumpers/child-env.ts';
import { optionFileText } from '../dumpers/mysql.ts';
import { resolveTool, type ToolCommand } from '../dumpers/tools.ts';
import { ConnectionError, DumpError } from '../errors.ts';
import type { DatabaseUrl } from './url.ts';

function decompressor(compression: string): Transform {
  if (compression === 'zstd') return zlib.createZstdDecompress();
  if (compression === 'gzip') return zlib.createGunzip();
  throw new DumpError(`a ${compression} dump cannot be restored into MySQL or MariaDB`);
}

/**
 * How to start the mysql/mariadb client against a URL: the command, the arguments that connect
 * (the password in a 0600 option file, never on the command line), and `close` to remove that file.
 */
export async function mysqlConnection(url: DatabaseUrl): Promise<{ client: ToolCommand; args: string[]; close(): Promise<void> }> {
  const client = resolveTool(['mariadb', 'mysql']);
  const secretDir = await mkdtemp(path.join(tmpdir(), 'stepvault-'));
  const optionFile = path.join(secretDir, 'client.cnf');
  await writeFile(optionFile, optionFileText(url.password), { mode: 0o600 });
  return {
    client,
    args: [
      `--defaults-file=${optionFile}`,
      ...(client.pluginDir ? [`--plugin-dir=${client.pluginDir}`] : []),
      '--host', url.host, '--port', String(url.port), '--user', url.user, '--protocol=TCP', '--default-character-set=utf8mb4',
    ],
    close: () => rm(secretDir, { recursive: true, force: true }),
  };
}

export async function restoreMysql(file: string, url: DatabaseUrl, compression: string): Promise<{ warnings: string[] }> {
  const { client, args: base, close } = await mysqlConnection(url);
  const run = (args: string[], input?: { file: string; compression: string }) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(client.file, [...client.prefixArgs, ...base, ...args], { env: toolEnvironment({}), stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const fed = input ? pipeline(createReadStream(input.file), decompressor(input.compression), child.stdin!) : Promise.resolve();
      child.on('error', reject);
      child.on('close', (code) => {
        fed.then(
          () => (code === 0 ? resolve() : reject(classify(stderr, url))),
          (error: unknown) => reject(code === 0 ? error : classify(stderr, url)),
        );
      });
    });
  try {
    await run(['-e', `CREATE DATABASE IF NOT EXISTS \`${url.database.replace(/`/g, '``')}\``]);
    await run([url.database], { file, compression });
    return { warnings: [] };
  } finally {
    await close();
  }
}

function classify(stderr: string, url: DatabaseUrl): Error {
  if (/\b(2002|2003|2005)\b|Can't connect/.test(stderr)) return new ConnectionError(`cannot reach ${url.host}:${url.port}: ${firstErrorLine(stderr)}`);
  return new DumpError(`restore into ${url.database} failed: ${firstErrorLine(stderr)}`);
}
