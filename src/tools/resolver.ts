/**
 * Finds the database client tools. One order everywhere: $STEPVAULT_TOOLS_DIR, then the dbtools
 * layer at /opt/dbtools, then PATH. A folder may hold the tools in bin/ or at its top.
 *
 * A built dbtools layer (a folder with layer.json) is used wherever it is: its binaries ask for
 * the loader at /opt/dbtools, so anywhere else they are started through the layer's own loader
 * with its library folder, which needs no root and no copy in /opt.
 */
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.ts';
import { toolEnvironment } from './environment.ts';
import { LAYER_PREFIX, type LayerManifest } from '../../layers/dbtools/lib/spec.ts';

const execFileAsync = promisify(execFile);

/** How to start a tool: the file to execute and arguments that go before the tool's own. */
export interface ToolCommand {
  name: string;
  file: string;
  prefixArgs: string[];
  /** Where it was found, for messages: the folder, or "PATH". */
  origin: string;
  /** The client auth plugins shipped beside the tool (a dbtools layer): MariaDB's, or MySQL's for MySQL's clients. */
  pluginDir?: string;
  /** The layer's stdio buffer library, to preload into a tool that writes a dump (see output-buffer.ts). */
  outputBufferLibrary?: string;
}

/** What the resolver reads of a layer's layer.json. */
type LayerDescription = Pick<
  LayerManifest,
  'prefix' | 'loader' | 'libraryDir' | 'pluginDir' | 'toolPluginDirs' | 'outputBufferLibrary'
>;

export function resolveTool(candidates: readonly string[], env: NodeJS.ProcessEnv = process.env): ToolCommand {
  const roots: { dir: string; origin: string }[] = [];
  if (env.STEPVAULT_TOOLS_DIR)
    roots.push({ dir: path.resolve(env.STEPVAULT_TOOLS_DIR), origin: path.resolve(env.STEPVAULT_TOOLS_DIR) });
  roots.push({ dir: LAYER_PREFIX, origin: LAYER_PREFIX });

  // Candidates are tried in order within each folder before the next folder: a tools folder
  // that has only `mysqldump` wins over a PATH that has `mariadb-dump`.
  for (const { dir, origin } of roots) {
    for (const folder of [path.join(dir, 'bin'), dir]) {
      for (const name of candidates) {
        const file = path.join(folder, name);
        if (isExecutable(file)) return withLayer({ name, file, prefixArgs: [], origin }, dir);
      }
    }
  }
  for (const folder of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of candidates) {
      const file = path.join(folder, name);
      if (isExecutable(file)) return { name, file, prefixArgs: [], origin: 'PATH' };
    }
  }
  const wanted = candidates.join(' or ');
  throw new ConfigError(
    `${wanted} not found (looked in ${env.STEPVAULT_TOOLS_DIR ? '$STEPVAULT_TOOLS_DIR, ' : ''}${LAYER_PREFIX}/bin and PATH); ` +
      'set STEPVAULT_TOOLS_DIR to a built dbtools layer or install the database client tools',
  );
}

function withLayer(tool: ToolCommand, root: string): ToolCommand {
  const layer = readLayerDescription(root);
  if (!layer) return tool;
  const pluginDir = path.join(root, layer.toolPluginDirs?.[tool.name] ?? layer.pluginDir);
  const outputBuffer = layer.outputBufferLibrary && { outputBufferLibrary: path.join(root, layer.outputBufferLibrary) };
  if (samePath(root, layer.prefix)) return { ...tool, pluginDir, ...outputBuffer };
  return {
    ...tool,
    file: path.join(root, layer.loader),
    prefixArgs: ['--library-path', path.join(root, layer.libraryDir), tool.file],
    pluginDir,
    ...outputBuffer,
  };
}

function readLayerDescription(root: string): LayerDescription | undefined {
  try {
    return JSON.parse(readFileSync(path.join(root, 'layer.json'), 'utf8')) as LayerDescription;
  } catch {
    return undefined;
  }
}

/** The tool's own `--version` line (asked with the same minimal environment as every tool). */
export async function toolVersionLine(tool: ToolCommand): Promise<string> {
  const { stdout } = await execFileAsync(tool.file, [...tool.prefixArgs, '--version'], {
    timeout: 15_000,
    env: toolEnvironment({}),
  });
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

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}
