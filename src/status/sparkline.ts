/**
 * An inline SVG line of backup sizes, one circle per backup, oldest on the left. The y axis starts
 * at zero, so a dump that lost half its tables drops halfway down the chart instead of to the bottom
 * of a zoomed-in range; the newest point is drawn larger.
 */
import { escapeHtml } from './escape.ts';
import { formatBytes } from '../text/format.ts';

const WIDTH = 160;
const HEIGHT = 36;
const PAD = 4;

export function sparkline(sizes: { at: string; size: number }[]): string {
  if (sizes.length === 0) return '<span class="muted">no backups</span>';
  const max = Math.max(...sizes.map((s) => s.size), 1);
  const step = sizes.length > 1 ? (WIDTH - 2 * PAD) / (sizes.length - 1) : 0;
  const points = sizes.map((s, i) => ({
    x: sizes.length > 1 ? PAD + i * step : WIDTH / 2,
    y: HEIGHT - PAD - (s.size / max) * (HEIGHT - 2 * PAD),
    ...s,
  }));
  const line = points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
  const dots = points
    .map(
      (p, i) =>
        `<circle class="point" cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${i === points.length - 1 ? 3 : 2}"><title>${escapeHtml(`${p.at}: ${formatBytes(p.size)}`)}</title></circle>`,
    )
    .join('');
  return `<svg class="sparkline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="sizes of the last ${sizes.length} backups"><polyline points="${line}" fill="none" stroke="currentColor" stroke-width="1.5"/>${dots}</svg>`;
}
