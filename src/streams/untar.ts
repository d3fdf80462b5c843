/**
 * Unpacks a tar stream into a folder, as it arrives: regular files and folders only (what a
 * directory-format dump holds), with ustar's name prefix and PAX `path`/`size` records read. Any
 * other kind of entry, and any name that would land outside the folder (absolute, `..`), is
 * refused: a backup is data from a store, not something to trust with the file system.
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';

const BLOCK = 512;

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

export interface Unpacked {
  files: number;
  bytes: number;
}

/** Writes the entries of `source` under `root` (which must exist); resolves once the end-of-archive is read. */
export async function untar(source: AsyncIterable<Buffer>, root: string): Promise<Unpacked> {
  const reader = new BlockReader(source);
  const unpacked: Unpacked = { files: 0, bytes: 0 };
  let pax: Record<string, string> = {};
  for (;;) {
    const header = await reader.take(BLOCK);
    if (!header) throw new TarFormatError('the archive ends before its end-of-archive blocks: it is cut short');
    if (header.every((byte) => byte === 0)) {
      // Whatever follows (the second zero block, a record's padding) is read too: whoever hashes
      // the stream on its way here must see all of it.
      await reader.drain();
      return unpacked;
    }
    checkSum(header);
    const type = String.fromCharCode(header[156]!);
    const size = pax.size !== undefined ? Number(pax.size) : octal(header, 124, 12);
    const name = pax.path ?? joinName(text(header, 345, 155), text(header, 0, 100));
    pax = {};
    if (type === 'x') {
      pax = parsePax(await body(reader, size));
      continue;
    }
    if (type === 'g') {
      await body(reader, size);
      continue;
    }
    const target = inside(root, name);
    if (type === '5') {
      await mkdir(target, { recursive: true, mode: 0o700 });
    } else if (type === '0' || type === '\0') {
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(reader, target, size);
      unpacked.files++;
      unpacked.bytes += size;
    } else {
      throw new TarFormatError(`entry ${name} is of tar type '${type}': only files and folders are unpacked`);
    }
  }
}

/** The file's bytes, streamed to disk, then the padding to the next block. */
async function writeFile(reader: BlockReader, file: string, size: number): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    let left = size;
    while (left > 0) {
      const chunk = await reader.some(left);
      if (!chunk) throw new TarFormatError(`the archive ends inside ${path.basename(file)}: it is cut short`);
      await handle.write(chunk);
      left -= chunk.length;
    }
  } finally {
    await handle.close();
  }
  await skipPadding(reader, size);
}

async function body(reader: BlockReader, size: number): Promise<Buffer> {
  const data = size > 0 ? await reader.take(size) : Buffer.alloc(0);
  if (!data) throw new TarFormatError('the archive ends inside an extended header: it is cut short');
  await skipPadding(reader, size);
  return data;
}

async function skipPadding(reader: BlockReader, size: number): Promise<void> {
  const padding = (BLOCK - (size % BLOCK)) % BLOCK;
  if (padding > 0 && !(await reader.take(padding)))
    throw new TarFormatError('the archive ends inside its padding: it is cut short');
}

/** The path under `root` that an entry names, or an error for one that would leave it. */
function inside(root: string, name: string): string {
  const bare = name.replace(/\/+$/, '');
  const parts = bare.split('/');
  if (bare === '' || name.startsWith('/') || parts.some((p) => p === '..' || p === '' || p.includes('\0')))
    throw new TarFormatError(
      `entry ${JSON.stringify(name)} does not name a place inside the folder it is unpacked into`,
    );
  return path.join(root, ...parts.filter((p) => p !== '.'));
}

function checkSum(header: Buffer): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  if (sum !== octal(header, 148, 8))
    throw new TarFormatError('a header block fails its checksum: this is not a tar archive, or it is damaged');
}

function octal(block: Buffer, offset: number, length: number): number {
  const digits = text(block, offset, length).trim();
  if (!/^[0-7]*$/.test(digits))
    throw new TarFormatError(`a header field holds ${JSON.stringify(digits)}, not an octal number`);
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

function joinName(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (space < 0 || !Number.isInteger(length) || length <= 0 || at + length > data.length)
      throw new TarFormatError('an extended (PAX) header is malformed');
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}

/** Reads exact byte counts from a stream of chunks of any size. */
class BlockReader {
  private readonly iterator: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or undefined at the end of the stream. */
  async take(n: number): Promise<Buffer | undefined> {
    while (this.pending.length < n) {
      const next = await this.iterator.next();
      if (next.done) return undefined;
      this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  /** Reads the rest of the stream, discarding it. */
  async drain(): Promise<void> {
    this.pending = Buffer.alloc(0);
    while (!(await this.iterator.next()).done);
  }

  /** Between 1 and `max` bytes, as they come, or undefined at the end of the stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.pending.length === 0) {
      const next = await this.iterator.next();
      if (next.done) return undefined;
      this.pending = next.value;
    }
    const out = this.pending.subarray(0, max);
    this.pending = this.pending.subarray(out.length);
    return out;
  }
}
