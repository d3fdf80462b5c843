/**
 * A streaming tar writer (image layers, the OCI archive, PostgreSQL's directory-format dumps):
 * POSIX ustar headers, a PAX record where a name or link target is longer than ustar holds or a
 * file is larger (8 GiB and up), entries streamed from disk in a fixed order with fixed owners and
 * times, so that the same files always give the same bytes (and digests). Nothing is buffered
 * beyond one chunk of one file.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

const BLOCK = 512;
/** ustar's size field holds 11 octal digits: files from 8 GiB on carry their size in a PAX record. */
const USTAR_MAX_SIZE = 8 ** 11 - 1;

export interface TarEntry {
  /** Relative, with `/` separators; a directory's without the trailing slash. */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  /** For a file: where its bytes are read from, and how many. */
  source?: string;
  size?: number;
  linkTarget?: string;
}

/** A file that grew or shrank while the tar read it: what the tar holds of it is not the file. */
export class ArchivedFileChanged extends Error {
  readonly file: string;

  constructor(file: string) {
    super(`${file} changed size while it was being archived`);
    this.name = 'ArchivedFileChanged';
    this.file = file;
  }
}

/** Owner and mode of an entry, decided by the caller (e.g. everything root's but the user's home). */
export type Ownership = (name: string, entry: TarEntry) => Pick<TarEntry, 'uid' | 'gid'>;

/** Every file, folder and link under `root`, parents before children, names in byte order. */
export async function* walk(root: string, ownership: Ownership = () => ({ uid: 0, gid: 0 })): AsyncGenerator<TarEntry> {
  async function* visit(dir: string, prefix: string): AsyncGenerator<TarEntry> {
    const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const base of names) {
      const file = path.join(dir, base);
      const name = prefix ? `${prefix}/${base}` : base;
      const stats = await lstat(file);
      // Permission bits only: no setuid/setgid/sticky from the build machine, except /tmp's sticky bit.
      const mode = stats.mode & 0o1777;
      let entry: TarEntry;
      if (stats.isSymbolicLink())
        entry = { name, type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkTarget: await readlink(file) };
      else if (stats.isDirectory()) entry = { name, type: 'directory', mode, uid: 0, gid: 0 };
      else if (stats.isFile()) entry = { name, type: 'file', mode, uid: 0, gid: 0, source: file, size: stats.size };
      else throw new Error(`${file} is neither a file, a folder nor a link: the archive cannot hold it`);
      yield { ...entry, ...ownership(name, entry) };
      if (entry.type === 'directory') yield* visit(file, name);
    }
  }
  yield* visit(root, '');
}

/** The tar stream of the entries, ending with the two zero blocks. `mtime` in seconds since the epoch. */
export async function* tarStream(entries: AsyncIterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const name = entry.type === 'directory' ? `${entry.name}/` : entry.name;
    const size = entry.type === 'file' ? (entry.size ?? 0) : 0;
    const link = entry.linkTarget ?? '';
    const pax: Record<string, string> = {};
    const split = splitName(name);
    if (!split) pax.path = name;
    if (Buffer.byteLength(link) > 100) pax.linkpath = link;
    if (size > USTAR_MAX_SIZE) pax.size = String(size);
    if (Object.keys(pax).length > 0) {
      const body = paxBody(pax);
      yield header({
        name: `PaxHeaders/${name}`.slice(0, 100),
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: body.length,
        mtime,
        type: 'x',
      });
      yield padded(body);
    }
    const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
    yield header({
      name: split?.name ?? name.slice(-100),
      prefix: split?.prefix ?? '',
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: pax.size ? 0 : size,
      mtime,
      type: typeflag,
      linkname: pax.linkpath ? '' : link,
    });
    if (entry.type === 'file' && entry.source) {
      let written = 0;
      for await (const chunk of createReadStream(entry.source) as AsyncIterable<Buffer>) {
        written += chunk.length;
        yield chunk;
      }
      if (written !== size) throw new ArchivedFileChanged(entry.source);
      if (size % BLOCK) yield Buffer.alloc(BLOCK - (size % BLOCK));
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}

/** ustar's name field holds 100 bytes, and a 155-byte prefix before the last `/` that fits. */
function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  const bare = name.endsWith('/') ? name.slice(0, -1) : name;
  for (let i = bare.lastIndexOf('/'); i > 0; i = bare.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  return undefined;
}

/** PAX records are `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxBody(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length) length++;
    return `${length}${rest}`;
  });
  return Buffer.from(lines.join(''));
}

function padded(body: Buffer): Buffer {
  const rest = body.length % BLOCK;
  return rest ? Buffer.concat([body, Buffer.alloc(BLOCK - rest)]) : body;
}

interface Header {
  name: string;
  prefix?: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  type: string;
  linkname?: string;
}

function header(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  octal(block, h.mode, 100, 8);
  octal(block, h.uid, 108, 8);
  octal(block, h.gid, 116, 8);
  octal(block, h.size, 124, 12);
  octal(block, h.mtime, 136, 12);
  block.fill(' ', 148, 156);
  block.write(h.type, 156, 1, 'ascii');
  block.write(h.linkname ?? '', 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'ascii');
  block.write(h.uid === 0 ? 'root' : '', 265, 32, 'ascii');
  block.write(h.gid === 0 ? 'root' : '', 297, 32, 'ascii');
  block.write(h.prefix ?? '', 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return block;
}

function octal(block: Buffer, value: number, offset: number, length: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`${value} does not fit a tar header field of ${length} bytes`);
  block.write(`${digits.padStart(length - 1, '0')}\u0000`, offset, length, 'ascii');
}
