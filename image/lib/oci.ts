/**
 * Writes an OCI image layout (image-spec v1.1) and packs it into an `oci-archive` tar: gzip
 * layers, the image config, its manifest and the index, each a blob named by its sha256. What a
 * registry client (skopeo, crane, docker load of an OCI archive) reads without a daemon here.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { tarStream, walk, type Ownership } from '../../src/streams/tar.ts';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface LayerSource {
  /** What the layer holds, for the config's history. */
  comment: string;
  /** The folder whose contents are the layer, as they appear under `/`. */
  root: string;
  ownership?: Ownership;
}

export interface ImageSpec {
  /** OCI's (Go's) name: amd64 or arm64. */
  architecture: string;
  entrypoint: string[];
  env: Record<string, string>;
  workingDir: string;
  user: string;
  labels: Record<string, string>;
  /** The tag in index.json (`org.opencontainers.image.ref.name`). */
  tag: string;
  /** Seconds since the epoch: every file's mtime and the config's `created`, so that builds are reproducible. */
  epoch: number;
}

export interface WrittenLayout {
  manifest: Descriptor;
  config: Descriptor;
  layers: (Descriptor & { diffId: string })[];
}

export async function writeLayout(dir: string, layers: LayerSource[], spec: ImageSpec): Promise<WrittenLayout> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const written: WrittenLayout['layers'] = [];
  for (const layer of layers) written.push(await writeLayer(blobs, layer, spec.epoch));

  const created = new Date(spec.epoch * 1000).toISOString();
  const config = await writeJsonBlob(blobs, MEDIA_TYPES.config, {
    created,
    architecture: spec.architecture,
    os: 'linux',
    config: {
      User: spec.user,
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Entrypoint: spec.entrypoint,
      WorkingDir: spec.workingDir,
      Labels: spec.labels,
    },
    rootfs: { type: 'layers', diff_ids: written.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: l.comment })),
  });
  const manifest = await writeJsonBlob(blobs, MEDIA_TYPES.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config,
    layers: written.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
    annotations: { 'org.opencontainers.image.created': created },
  });
  await writeFile(path.join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
  await writeFile(
    path.join(dir, 'index.json'),
    `${JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          ...manifest,
          platform: { architecture: spec.architecture, os: 'linux' },
          annotations: { 'org.opencontainers.image.ref.name': spec.tag },
        },
      ],
    })}\n`,
  );
  return { manifest, config, layers: written };
}

/** The layout folder as one uncompressed tar, what `oci-archive:` names in skopeo and `docker load` reads. */
export async function packArchive(layoutDir: string, archive: string, epoch: number): Promise<void> {
  await pipeline(Readable.from(tarStream(walk(layoutDir), epoch)), createWriteStream(archive, { mode: 0o644 }));
}

async function writeLayer(blobs: string, layer: LayerSource, epoch: number): Promise<Descriptor & { diffId: string }> {
  const partial = path.join(blobs, `.layer-${process.pid}-${Date.now()}.partial`);
  const uncompressed = createHash('sha256');
  const compressed = createHash('sha256');
  let size = 0;
  await pipeline(
    Readable.from(tarStream(walk(layer.root, layer.ownership), epoch)),
    tap((chunk) => uncompressed.update(chunk)),
    createGzip({ level: 6 }),
    tap((chunk) => {
      compressed.update(chunk);
      size += chunk.length;
    }),
    createWriteStream(partial),
  );
  const hex = compressed.digest('hex');
  await rename(partial, path.join(blobs, hex));
  return {
    mediaType: MEDIA_TYPES.layer,
    digest: `sha256:${hex}`,
    size,
    diffId: `sha256:${uncompressed.digest('hex')}`,
  };
}

async function writeJsonBlob(blobs: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(path.join(blobs, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

function tap(see: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      see(chunk);
      done(null, chunk);
    },
  });
}
