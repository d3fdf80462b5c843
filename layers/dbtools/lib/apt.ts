/**
 * apt with a configuration of its own: its own sources, lists, status and download folder under
 * the build cache, so the machine's apt state is never read or changed. apt resolves the
 * dependency closure (download-only, against an empty status) and fetches the .deb files;
 * nothing is installed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LayerBuildError } from './errors.ts';
import { run } from './run.ts';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const LISTS_FRESH_FOR_MS = 24 * 60 * 60 * 1000;

export interface AptOptions {
  root: string;
  mirror: string;
  suite: string;
  /** Suites apt may take a package from only when `suite` has none (pinned below it). */
  fallbackSuites?: string[];
  debianArch: string;
  log: (line: string) => void;
}

export class PrivateApt {
  readonly debs: string;
  private readonly options: AptOptions;
  private readonly configFile: string;

  constructor(options: AptOptions) {
    this.options = options;
    this.configFile = path.join(options.root, 'apt.conf');
    this.debs = path.join(options.root, 'debs');
  }

  async prepare(): Promise<void> {
    const { root, mirror, suite, debianArch } = this.options;
    if (!existsSync(KEYRING))
      throw new LayerBuildError(
        `${KEYRING} is missing: install the debian-archive-keyring package to check the archive's signatures`,
      );
    for (const dir of [
      'etc/apt.conf.d',
      'etc/preferences.d',
      'etc/sources.list.d',
      'state/lists/partial',
      'cache',
      'debs/partial',
    ]) {
      await mkdir(path.join(root, dir), { recursive: true });
    }
    const fallbacks = this.options.fallbackSuites ?? [];
    await writeFile(
      path.join(root, 'etc/sources.list'),
      [suite, ...fallbacks].map((s) => `deb [signed-by=${KEYRING}] ${mirror} ${s} main\n`).join(''),
    );
    // Below the default 500: a package comes from a fallback suite only when the main one lacks it.
    await writeFile(
      path.join(root, 'etc/preferences.d/fallback-suites'),
      fallbacks
        .flatMap((s) => [
          `Package: *\nPin: release a=${s}\nPin-Priority: 100\n`,
          `Package: *\nPin: release n=${s}\nPin-Priority: 100\n`,
        ])
        .join('\n'),
    );
    if (!existsSync(path.join(root, 'state/status'))) await writeFile(path.join(root, 'state/status'), '');
    await writeFile(
      this.configFile,
      [
        `Dir::Etc "${root}/etc";`,
        `Dir::State "${root}/state";`,
        `Dir::State::status "${root}/state/status";`,
        `Dir::Cache "${root}/cache";`,
        `Dir::Cache::archives "${this.debs}";`,
        `APT::Architecture "${debianArch}";`,
        `APT::Architectures { "${debianArch}"; };`,
        'Acquire::Languages "none";',
        // Archive snapshots serve Release files past their Valid-Until; signatures are still checked.
        'Acquire::Check-Valid-Until "false";',
        'Acquire::Retries "3";',
        'Debug::NoLocking "true";',
        '',
      ].join('\n'),
    );
  }

  /** Refreshes the package lists unless they are younger than a day (or `force`). */
  async update(force: boolean): Promise<void> {
    const lists = path.join(this.options.root, 'state/lists');
    const packages = readdirSync(lists).filter((f) => f.endsWith('_Packages'));
    const fresh =
      packages.length > 0 &&
      packages.every((f) => Date.now() - statSync(path.join(lists, f)).mtimeMs < LISTS_FRESH_FOR_MS);
    if (fresh && !force) {
      this.options.log(`package lists for ${this.where()} are fresh: not fetched again`);
      return;
    }
    this.options.log(`fetching package lists of ${this.where()}`);
    try {
      await this.apt('apt-get', ['update', '--error-on=any']);
    } catch (error) {
      throw new LayerBuildError(
        `cannot read the Debian archive at ${this.options.mirror} (${this.where()}): ${(error as Error).message.split('\n').slice(-2).join(' ')}`,
        { cause: error },
      );
    }
  }

  /** Downloads the packages and everything they depend on; returns the .deb files. */
  async download(packages: string[], offline: boolean): Promise<string[]> {
    return (await this.downloadClosure(packages, offline)).map((d) => d.file);
  }

  /**
   * Each group resolved and downloaded on its own (packages that conflict with each other, like
   * MySQL's and MariaDB's clients); a package two closures share is taken once, at the newer of
   * their versions.
   */
  async downloadGroups(groups: string[][], offline: boolean): Promise<string[]> {
    const chosen = new Map<string, ClosureDeb>();
    for (const group of groups) {
      for (const deb of await this.downloadClosure(group, offline)) {
        const earlier = chosen.get(deb.name);
        if (!earlier || (await newerVersion(deb.version, earlier.version))) chosen.set(deb.name, deb);
      }
    }
    return [...chosen.values()].map((d) => d.file);
  }

  private async downloadClosure(packages: string[], offline: boolean): Promise<ClosureDeb[]> {
    try {
      await this.apt('apt-get', [
        'install',
        '--download-only',
        '--yes',
        '--no-install-recommends',
        ...(offline ? ['--no-download'] : []),
        ...packages,
      ]);
    } catch (error) {
      const text = `${(error as { stdout?: string }).stdout ?? ''}\n${(error as Error).message}`;
      const missing = [
        ...text.matchAll(/Unable to locate package (\S+)|Package '?([^' ]+)'? has no installation candidate/g),
      ].map((m) => m[1] ?? m[2]);
      if (missing.length > 0)
        throw new LayerBuildError(`package ${missing.join(', ')} is not in Debian ${this.where()}`, { cause: error });
      if (offline)
        throw new LayerBuildError(
          `--offline, but the cache lacks packages for ${this.where()}; build once without --offline`,
          { cause: error },
        );
      throw new LayerBuildError(
        `downloading packages from ${this.options.mirror} failed: ${(error as Error).message.split('\n').slice(-2).join(' ')}`,
        { cause: error },
      );
    }
    return this.closureFiles(packages);
  }

  /** The .deb files of the closure apt chose: a simulated install against the empty status lists it all. */
  private async closureFiles(packages: string[]): Promise<ClosureDeb[]> {
    const { stdout } = await this.apt('apt-get', [
      'install',
      '--simulate',
      '--yes',
      '--no-install-recommends',
      ...packages,
    ]);
    const chosen = [...stdout.matchAll(/^Inst (\S+) \((\S+) /gm)].map((m) => ({
      name: m[1]!.replace(/:.*$/, ''),
      version: m[2]!,
    }));
    const files = readdirSync(this.debs).filter((f) => f.endsWith('.deb'));
    return chosen.map(({ name, version }) => {
      const prefix = `${name}_${version.replace(/:/g, '%3a')}_`;
      const file = files.find((f) => f.startsWith(prefix));
      if (!file) throw new LayerBuildError(`${name} ${version} was not downloaded`);
      return { name, version, file: path.join(this.debs, file) };
    });
  }

  private where(): string {
    return `${[this.options.suite, ...(this.options.fallbackSuites ?? [])].join(' + ')} ${this.options.debianArch}`;
  }

  private apt(command: string, args: string[]) {
    return run(command, args, { ...process.env, APT_CONFIG: this.configFile, DEBIAN_FRONTEND: 'noninteractive' });
  }
}

interface ClosureDeb {
  name: string;
  version: string;
  file: string;
}

/** Debian's own ordering of versions (epochs, tildes and all). */
async function newerVersion(a: string, b: string): Promise<boolean> {
  return run('dpkg', ['--compare-versions', a, 'gt', b]).then(
    () => true,
    () => false,
  );
}

/**
 * The Debian mirror this machine's own apt uses, so that the build needs no address of its
 * own; `--mirror` or STEPVAULT_DEBIAN_MIRROR override it.
 */
export function machineDebianMirror(): string | undefined {
  const files = [
    '/etc/apt/sources.list',
    ...safeList('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`),
  ];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f))) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const uris = [...text.matchAll(/^\s*URIs:\s*(\S+)/gm), ...text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map(
      (m) => m[1]!,
    );
    const archive = uris.find((uri) => /\/debian\/?$/.test(uri));
    if (archive) return archive.replace(/\/$/, '');
  }
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
