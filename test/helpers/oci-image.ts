/**
 * Reads an OCI image archive the way a registry client would, checking every digest on the way
 * (index → manifest → config and layers, and each layer's uncompressed diff_id), and unpacks its
 * layers in order into a folder with GNU tar, so the image is read by a tar that is not ours.
 * And runs the image's entrypoint in that folder as a chroot, as the container runtime would.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';

const run = promisify(execFile);

export interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Env: string[]; Entrypoint: string[]; WorkingDir: string; Labels?: Record<string, string> };
  rootfs: { type: string; diff_ids: string[] };
}

export interface OciManifest {
  schemaVersion: number;
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
}

export interface UnpackedImage {
  rootfs: string;
  layout: string;
  index: {
    schemaVersion: number;
    mediaType: string;
    manifests: {
      digest: string;
      platform: { architecture: string; os: string };
      annotations: Record<string, string>;
    }[];
  };
  manifest: OciManifest;
  config: ImageConfig;
}

export async function unpackImage(archive: string, into: string): Promise<UnpackedImage> {
  const layout = path.join(into, 'layout');
  const rootfs = path.join(into, 'rootfs');
  await mkdir(layout, { recursive: true });
  await mkdir(rootfs, { recursive: true });
  await run('tar', ['-xf', archive, '-C', layout]);
  const blob = (digest: string) => path.join(layout, 'blobs', ...digest.split(':'));
  const json = async <T>(descriptor: { digest: string; size: number }): Promise<T> => {
    const bytes = await readFile(blob(descriptor.digest));
    if (bytes.length !== descriptor.size)
      throw new Error(`${descriptor.digest}: ${bytes.length} bytes, not ${descriptor.size}`);
    if (`sha256:${createHash('sha256').update(bytes).digest('hex')}` !== descriptor.digest)
      throw new Error(`${descriptor.digest} does not match its content`);
    return JSON.parse(bytes.toString('utf8')) as T;
  };
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as UnpackedImage['index'];
  const manifest = await json<OciManifest>(index.manifests[0] as never);
  const config = await json<ImageConfig>(manifest.config);
  for (const [i, layer] of manifest.layers.entries()) {
    const file = blob(layer.digest);
    const compressed = await sha256Of(createReadStream(file));
    const uncompressed = await sha256Of(createReadStream(file).pipe(createGunzip()));
    if (`sha256:${compressed}` !== layer.digest) throw new Error(`layer ${i} does not match its digest`);
    if (`sha256:${uncompressed}` !== config.rootfs.diff_ids[i])
      throw new Error(`layer ${i} does not match its diff_id`);
    await run('tar', ['--numeric-owner', '--same-permissions', '-xzf', file, '-C', rootfs]);
  }
  return { rootfs, layout, index, manifest, config };
}

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A scratch folder for an unpacked image (the caller removes it). */
export function imageScratch(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'stepvault-image-test-'));
}

export async function removeScratch(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** What the container runtime gives every container and the image does not carry: /dev/null, /dev/urandom. */
export async function addDevices(rootfs: string): Promise<void> {
  await mkdir(path.join(rootfs, 'dev'), { recursive: true });
  await run('mknod', ['-m', '666', path.join(rootfs, 'dev/null'), 'c', '1', '3']);
  await run('mknod', ['-m', '666', path.join(rootfs, 'dev/urandom'), 'c', '1', '9']);
}

export interface ChrootRun {
  code: number | null;
  stdout: string[];
  stderr: string[];
}

/**
 * Runs a command in the unpacked image as its config says a container runs: its user, its
 * environment and nothing of this machine's. (chroot starts in `/`, not the WorkingDir: the
 * entrypoint reads only absolute paths.) `prefix` goes before the command (an emulator).
 */
export function runInImage(
  image: UnpackedImage,
  command: string[],
  env: Record<string, string> = {},
  prefix: string[] = [],
): Promise<ChrootRun> {
  const { User, Env } = image.config.config;
  const environment = Object.fromEntries(Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const child = spawn('/usr/sbin/chroot', [`--userspec=${User}`, image.rootfs, ...prefix, ...command], {
    env: { ...environment, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: out.split('\n').filter(Boolean), stderr: err.split('\n').filter(Boolean) }),
    );
  });
}
