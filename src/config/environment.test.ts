import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_CONFIG_YAML } from './embedded.ts';
import { configFromEnvironment, configHandover } from './environment.ts';
import { loadConfig, parseConfig } from './load.ts';

describe('the config handed to a process that runs one step', () => {
  it('is the file the run read, by its path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stepvault-env-'));
    const file = path.join(dir, 'stepvault.config.yml');
    writeFileSync(file, EMBEDDED_CONFIG_YAML.replace('sample:', 'orders:'));
    const handover = configHandover(loadConfig(file));
    expect(handover).toEqual({ env: { STEPVAULT_CONFIG: file } });
    expect(Object.keys(configFromEnvironment(handover.env, '/nowhere').targets)).toEqual(['orders']);
  });

  it('is the text of a config that is no file (the embedded sample), read from the same folder', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'stepvault-env-'));
    const config = loadConfig(undefined, dir);
    expect(config.source).toBe('embedded');
    const handover = configHandover(config);
    expect(handover).toEqual({ env: { STEPVAULT_CONFIG_YAML: EMBEDDED_CONFIG_YAML }, cwd: dir });
    const read = configFromEnvironment(handover.env, '/nowhere', handover.cwd);
    expect(read.source).toBe('embedded');
    expect(read.targets).toEqual(config.targets);
    expect(read.destinations.local).toEqual({ type: 'filesystem', path: path.join(dir, 'backups') });
  });

  it('without either variable, is stepvault.config.yml in the function’s folder, and says so when it is missing', () => {
    expect(() => configFromEnvironment({}, '/nowhere')).toThrow(
      /^config file \/nowhere\/stepvault\.config\.yml does not exist; pass --config with the path of your stepvault\.config\.yml$/,
    );
  });

  it('refuses a config that is neither a file nor text', () => {
    const { origin: _, ...config } = parseConfig(EMBEDDED_CONFIG_YAML, 'embedded', '/x');
    expect(() => configHandover(config)).toThrow(
      'the config from embedded cannot be handed to another process: neither a file nor text',
    );
  });
});
