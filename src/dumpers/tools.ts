/**
 * Finds the database client tools. One order everywhere: $STEPVAULT_TOOLS_DIR, then the dbtools
 * layer at /opt/dbtools, then PATH. A folder may hold the tools in bin/ or at its top.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.ts';

const execFileAsync = promisify(execFile);

export const LAYER_TOOLS_DIR = '/opt/dbtools';

/** How to start a tool: the file to execute and arguments that go before the tool's own. */
export interface ToolCommand {
  name: string;
  file: string;
  prefixArgs: string[];
  /** Where it was found, for messages: the folder, or "PATH". */
  origin: string;
}

export function resolveTool(candidates: readonly string[], env: NodeJS.ProcessEnv = process.env): ToolCommand {
  const folders: { dir: string; origin: string }[] = [];
  if (env.STEPVAULT_TOOLS_DIR) {
    const dir = path.resolve(env.STEPVAULT_TOOLS_DIR);
    folders.push({ dir: path.join(dir, 'bin'), origin: dir }, { dir, origin: dir });
  }
  folders.push({ dir: path.join(LAYER_TOOLS_DIR, 'bin'), origin: LAYER_TOOLS_DIR });
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) folders.push({ dir, origin: 'PATH' });

  // Candidates are tried in order within each folder before the next folder: a tools folder
  // that has only `mysqldump` wins over a PATH that has `mariadb-dump`.
  for (const { dir, origin } of folders) {
    for (const name of candidates) {
      const file = path.join(dir, name);
      if (isExecutable(file)) return { name, file, prefixArgs: [], origin };
    }
  }
  const wanted = candidates.join(' or ');
  throw new ConfigError(
    `${wanted} not found (looked in ${env.STEPVAULT_TOOLS_DIR ? '$STEPVAULT_TOOLS_DIR, ' : ''}${LAYER_TOOLS_DIR}/bin and PATH); ` +
      'set STEPVAULT_TOOLS_DIR to a built dbtools layer or install the database client tools',
  );
}

/** The tool's own `--version` line. */
export async function toolVersionLine(tool: ToolCommand): Promise<string> {
  const { stdout } = await execFileAsync(tool.file, [...tool.prefixArgs, '--version'], { timeout: 15_000 });
  return stdout.trim().split('\n')[0] ?? '';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
