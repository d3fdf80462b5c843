/** The benchmark's table, in Markdown: one row per run, ratios against the raw tool at the same settings. */
import { formatBytes } from '../../src/text/format.ts';

export interface Row {
  engine: string;
  what: string;
  destination: string;
  settings: string;
  /** The median of the rounds; `range`, the fastest and the slowest when there were several. */
  seconds?: number;
  range?: [number, number];
  size?: number;
  /** The raw run this row is compared with (same settings), if any. */
  baseline?: { seconds: number; size: number };
  /** The raw tool's time over this row's, taken round by round (the raw run just before), then the median. */
  speed?: number;
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
          `${row.seconds!.toFixed(1)} s${row.range ? ` (${row.range[0].toFixed(1)}–${row.range[1].toFixed(1)})` : ''}`,
          formatBytes(row.size!),
          row.speed !== undefined
            ? `${row.speed.toFixed(2)}×`
            : row.baseline
              ? `${(row.baseline.seconds / row.seconds!).toFixed(2)}×`
              : '',
          row.baseline ? `${(row.size! / row.baseline.size).toFixed(2)}×` : '',
          row.peakRss ? `${(row.peakRss / 1024 / 1024).toFixed(0)} MB` : '—',
        ];
    // A pipe in the settings (`… | zstd -1`) would end the Markdown cell.
    const settings = row.settings ? `\`${row.settings.replaceAll('|', '\\|')}\`` : '';
    return [row.engine, row.what, row.destination, settings, ...figures];
  });
  return table(HEADER, cells);
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function table(header: string[], cells: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
