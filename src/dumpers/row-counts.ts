/**
 * Rows per table, counted from the dump itself rather than from the live database: a count
 * taken beside the dump would disagree on any table written to meanwhile, while these are exactly
 * what a restore must bring back. The restore drill compares against them.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type RowCounts = Record<string, number>;

/** Above this many tables the counts are left out of payloads and manifests (256 KB limit). */
export const MAX_COUNTED_TABLES = 2000;

/** Lines of text from a byte stream, the last partial line kept for the next chunk. */
abstract class LineCounter extends Transform {
  counts: RowCounts = {};
  private rest = '';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const text = this.rest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.rest) this.line(this.rest);
    callback();
  }

  protected abstract line(line: string): void;
}

/**
 * Counts the rows of `pg_restore --data-only` output: each table's data is a
 * `COPY <qualified name> (<columns>) FROM stdin;` line, one line per row, then `\.`.
 */
export class CopyRowCounter extends LineCounter {
  private table: string | undefined;

  protected line(line: string): void {
    if (this.table !== undefined) {
      if (line === '\\.') this.table = undefined;
      else this.counts[this.table]! += 1;
      return;
    }
    const copy = /^COPY (.+?)(?: \(.*\))? FROM stdin;$/.exec(line);
    if (copy) {
      this.table = copy[1]!;
      this.counts[this.table] ??= 0;
    }
  }
}

/**
 * Counts the rows of a mysqldump/mariadb-dump: after `INSERT INTO \`t\` VALUES`, each top-level
 * parenthesis outside a string is one row, up to the `;` that ends the statement. The tools put
 * the rows on one line or one per line (MariaDB 10.11 does the latter); both are read the same,
 * since the state carries from line to line and the tools escape newlines inside strings.
 */
export class InsertRowCounter extends LineCounter {
  private table: string | undefined;
  private depth = 0;

  protected line(line: string): void {
    if (this.table === undefined) {
      if (line.startsWith('CREATE TABLE `')) {
        const created = tableName(line, 'CREATE TABLE '.length);
        if (created) this.counts[created] ??= 0;
        return;
      }
      if (!line.startsWith('INSERT INTO `')) return;
      const table = tableName(line, 'INSERT INTO '.length);
      const values = line.indexOf(' VALUES');
      if (!table || values < 0) return;
      this.table = table;
      this.counts[table] ??= 0;
      this.depth = 0;
      this.scan(line, values + ' VALUES'.length);
      return;
    }
    this.scan(line, 0);
  }

  private scan(line: string, from: number): void {
    let quote = '';
    for (let i = from; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = '';
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '(') {
        if (this.depth === 0) this.counts[this.table!]! += 1;
        this.depth++;
      } else if (c === ')') this.depth--;
      else if (c === ';' && this.depth === 0) {
        this.table = undefined;
        return;
      }
    }
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

export function boundedCounts(counts: RowCounts): RowCounts | undefined {
  return Object.keys(counts).length <= MAX_COUNTED_TABLES ? counts : undefined;
}
