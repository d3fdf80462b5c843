/** The benchmark's table, in Markdown: one row per run, ratios against the raw tool at the same settings. */
import { formatBytes } from '../../src/text/format.ts';

export interface Row {
  engine: string;
  what: string;
  destination: string;
  settings: string;
  seconds?: number;
  size?: number;
  /** The raw run this row is compared with (same settings), if any. */
  baseline?: { seconds: number; size: number };
  peakRss?: number;
  /** Why the row has no figures (a feature this version lacks). */
  unavailable?: string;
}

const HEADER = ['engine', 'run', 'to', 'settings', 'time', 'size', 'speed vs raw', 'size vs raw', 'peak Node RSS'];

export function markdownTable(rows: Row[]): string {
  const cells = rows.map((row) => {
    const figures = row.unavailable
      ? ['n/a (not available)', '', '', '', '']
      : [
          `${row.seconds!.toFixed(1)} s`,
          formatBytes(row.size!),
          row.baseline ? `${(row.baseline.seconds / row.seconds!).toFixed(2)}×` : '',
          row.baseline ? `${(row.size! / row.baseline.size).toFixed(2)}×` : '',
          row.peakRss ? `${(row.peakRss / 1024 / 1024).toFixed(0)} MB` : '—',
        ];
    return [row.engine, row.what, row.destination, row.settings ? `\`${row.settings}\`` : '', ...figures];
  });
  return table(HEADER, cells);
}

export function table(header: string[], cells: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
