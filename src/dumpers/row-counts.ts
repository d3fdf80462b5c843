/**
 * Rows per table, counted from the dump itself rather than from the live database: a count
 * taken beside the dump would disagree on any table written to meanwhile, while these are exactly
 * what a restore must bring back. The restore drill compares against them.
 *
 * The counters read bytes, not text: a dump's rows pass through them by the million, and turning
 * each chunk into strings (one per row) kept the garbage collector's young generation at its
 * largest for the whole dump, tens of megabytes of resident memory for nothing. Only the few
 * lines that name a table are decoded. Every byte the counters look for is ASCII, which never
 * occurs inside a multi-byte UTF-8 character, so a byte scan finds exactly what a text scan would.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { reclaimStreamed } from '../streams/reclaim.ts';

export type RowCounts = Record<string, number>;

/**
 * Whether a target's dump has its rows counted: the restore drill is what reads the counts, and
 * counting is not free (on a 1 GB database, 1.4 s of CPU for PostgreSQL's COPY text and 2.5 s for
 * MariaDB's INSERTs, beside a dump the tool itself takes 4 to 10 s for on two cores).
 */
export function countsRows(target: { verify?: { drill?: unknown } }): boolean {
  return target.verify?.drill !== undefined;
}

/** Above this many tables the counts are left out of payloads and manifests (256 KB limit). */
export const MAX_COUNTED_TABLES = 2000;

const NEWLINE = 0x0a;
/** A line that names a table is kept up to this many bytes; no table name comes near it. */
const HEAD_LIMIT = 1024 * 1024;

/** The start of the current line, kept as bytes until it is whole (or known to be uninteresting). */
class LineHead {
  private bytes = Buffer.allocUnsafe(512);
  length = 0;

  append(chunk: Buffer, from: number, to: number): void {
    const n = Math.min(to - from, HEAD_LIMIT - this.length);
    if (n <= 0) return;
    if (this.length + n > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.min(HEAD_LIMIT, Math.max(this.length + n, this.bytes.length * 2)));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    chunk.copy(this.bytes, this.length, from, from + n);
    this.length += n;
  }

  startsWith(prefix: Buffer): boolean {
    return this.length >= prefix.length && this.bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
  }

  indexOf(needle: Buffer): number {
    const at = this.bytes.indexOf(needle);
    return at >= 0 && at + needle.length <= this.length ? at : -1;
  }

  text(from = 0, to = this.length): string {
    return this.bytes.toString('utf8', from, to);
  }

  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

const COPY_PREFIX = Buffer.from('COPY ');
/** `\.` as the two bytes of a line, packed as the row scan packs them. */
const END_OF_DATA = (0x5c << 8) | 0x2e;

/**
 * Counts the rows of `pg_restore --data-only` output: each table's data is a
 * `COPY <qualified name> (<columns>) FROM stdin;` line, one line per row, then `\.`.
 */
export class CopyRowCounter extends Transform {
  counts: RowCounts = {};
  private table: string | undefined;
  private readonly head = new LineHead();
  /** The current row's length so far and its first two bytes: all it takes to tell `\.` from a row. */
  private rowLength = 0;
  private rowStart = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let at = 0;
    while (at < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline < 0 ? chunk.length : newline;
      if (this.table === undefined) this.head.append(chunk, at, end);
      else {
        for (let i = at; i < end && this.rowLength + (i - at) < 2; i++)
          this.rowStart = (this.rowStart << 8) | chunk[i]!;
        this.rowLength += end - at;
      }
      if (newline < 0) break;
      this.endLine();
      at = newline + 1;
    }
    // pg_restore's output (the whole data, uncompressed) passes through here and nowhere else.
    reclaimStreamed(chunk.length);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.table === undefined ? this.head.length > 0 : this.rowLength > 0) this.endLine();
    callback();
  }

  private endLine(): void {
    if (this.table !== undefined) {
      if (this.rowLength === 2 && this.rowStart === END_OF_DATA) this.table = undefined;
      else this.counts[this.table]! += 1;
      this.rowLength = 0;
      this.rowStart = 0;
      return;
    }
    if (this.head.startsWith(COPY_PREFIX)) {
      const copy = /^COPY (.+?)(?: \(.*\))? FROM stdin;$/.exec(this.head.text());
      if (copy) {
        this.table = copy[1]!;
        this.counts[this.table] ??= 0;
      }
    }
    this.head.clear();
  }
}

const CREATE_PREFIX = Buffer.from('CREATE TABLE `');
const INSERT_PREFIX = Buffer.from('INSERT INTO `');
const VALUES = Buffer.from(' VALUES');
const [BACKSLASH, SINGLE_QUOTE, DOUBLE_QUOTE, OPEN, CLOSE, SEMICOLON] = [...Buffer.from('\\\'"();')] as number[];

/**
 * Counts the rows of a mysqldump/mariadb-dump: after `INSERT INTO \`t\` VALUES`, each top-level
 * parenthesis outside a string is one row, up to the `;` that ends the statement. The tools put
 * the rows on one line or one per line (MariaDB 10.11 does the latter); both are read the same,
 * since the state carries from line to line and the tools escape newlines inside strings (so a
 * quote never spans lines).
 */
export class InsertRowCounter extends Transform {
  counts: RowCounts = {};
  private readonly head = new LineHead();
  /** The table whose INSERT is being scanned. */
  private table: string | undefined;
  /** The statement ended before its line did: the rest of the line is not looked at. */
  private skipLine = false;
  private depth = 0;
  private quote = 0;
  private escaped = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let at = 0;
    while (at < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, at);
      const end = newline < 0 ? chunk.length : newline;
      if (this.table !== undefined) this.scan(chunk, at, end);
      else if (!this.skipLine) {
        this.head.append(chunk, at, end);
        this.startInsert();
      }
      if (newline < 0) break;
      this.endLine();
      at = newline + 1;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.endLine();
    callback();
  }

  /** Once the line so far reads `INSERT INTO \`t\` VALUES`, the rest of it is scanned for rows. */
  private startInsert(): void {
    if (!this.head.startsWith(INSERT_PREFIX)) return;
    const values = this.head.indexOf(VALUES);
    if (values < 0) return;
    const table = tableName(this.head.text(0, values), 'INSERT INTO '.length);
    if (!table) return;
    this.table = table;
    this.counts[table] ??= 0;
    this.depth = 0;
    const line = this.head.view();
    this.head.clear();
    this.scan(line, values + VALUES.length, line.length);
  }

  private scan(bytes: Buffer, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const c = bytes[i]!;
      if (this.quote) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === this.quote) this.quote = 0;
      } else if (c === SINGLE_QUOTE || c === DOUBLE_QUOTE) this.quote = c;
      else if (c === OPEN) {
        if (this.depth === 0) this.counts[this.table!]! += 1;
        this.depth++;
      } else if (c === CLOSE) this.depth--;
      else if (c === SEMICOLON && this.depth === 0) {
        this.table = undefined;
        this.skipLine = true;
        return;
      }
    }
  }

  private endLine(): void {
    if (this.table === undefined && !this.skipLine && this.head.startsWith(CREATE_PREFIX)) {
      const created = tableName(this.head.text(), 'CREATE TABLE '.length);
      if (created) this.counts[created] ??= 0;
    }
    this.head.clear();
    this.skipLine = false;
    this.quote = 0;
    this.escaped = false;
  }
}

/** A backquoted table name at `start`, with `` as an escaped backquote. */
function tableName(line: string, start: number): string | undefined {
  if (line[start] !== '`') return undefined;
  let name = '';
  for (let i = start + 1; i < line.length; i++) {
    if (line[i] === '`') {
      if (line[i + 1] === '`') {
        name += '`';
        i++;
      } else return name;
    } else name += line[i];
  }
  return undefined;
}

export function boundedCounts(counts: RowCounts | undefined): RowCounts | undefined {
  return counts && Object.keys(counts).length <= MAX_COUNTED_TABLES ? counts : undefined;
}
