/**
 * The status page, a target's page and the not-found page as whole HTML documents: inline CSS and
 * SVG, no script, no external request. Every value is escaped (escape.ts).
 */
import { formatBytes } from '../text/format.ts';
import { escapeHtml as h } from './escape.ts';
import type { StatusReport, TargetStatus } from './model.ts';
import { sparkline } from './sparkline.ts';
import { describeAge } from './state.ts';
import { STYLE } from './style.ts';

/** Links are relative to the page: the report file has no target pages, so its rows do not link. */
export interface RenderOptions {
  linkTargets: boolean;
}

export const FOOTNOTE =
  'Read from the manifests in each destination (what stepvault list shows) and from the journal of runs on this machine ' +
  '(.stepvault/runs.jsonl beside the staging folder): failures and restore drills of deployed runs are not stored ' +
  'with the backups; see them with stepvault status or on the CloudWatch dashboard.';

function document(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${h(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>
`;
}

export function renderStatusPage(report: StatusReport, options: RenderOptions): string {
  const rows = report.targets.map((t) => targetRow(t, options)).join('');
  return document(
    'stepvault status',
    `<h1>stepvault status</h1>
<p class="muted">${h(report.targets.length)} targets, as of ${when(report.generatedAt)}</p>
<table><thead><tr><th>Target</th><th>State</th><th>Last success</th><th>Last failure</th><th>Size</th>
<th>Last restore drill</th><th>Next run</th><th>Retention</th></tr></thead><tbody>${rows}</tbody></table>
<footer>${h(FOOTNOTE)}</footer>`,
  );
}

function targetRow(t: TargetStatus, options: RenderOptions): string {
  const name = options.linkTargets ? `<a href="targets/${encodeURIComponent(t.name)}">${h(t.name)}</a>` : h(t.name);
  const newest = t.backups[0];
  return `<tr class="target" data-target="${h(t.name)}" data-state="${h(t.state)}">
<td data-label="Target"><strong>${name}</strong><br><span class="muted">${h(t.engine)}${t.database ? ` · ${h(t.database)}` : ''}</span></td>
<td data-label="State">${chip(t)}<br><span class="muted">${h(t.reason)}</span></td>
<td data-label="Last success">${t.lastSuccess ? `${when(t.lastSuccess.at)}<br><span class="muted">${h(describeAge(t.lastSuccess.ageSeconds))} ago</span>` : '<span class="muted">none stored</span>'}</td>
<td data-label="Last failure">${failure(t)}</td>
<td data-label="Size">${newest ? h(formatBytes(newest.size)) : ''}${sparkline(t.sizes)}${t.sizeWarning ? `<span class="warn">${h(t.sizeWarning)}</span>` : ''}</td>
<td data-label="Last restore drill">${t.lastDrill ? `${h(t.lastDrill.outcome)}<br><span class="muted">${when(t.lastDrill.at)}</span>` : '<span class="muted">none recorded</span>'}</td>
<td data-label="Next run">${t.nextRun ? h(t.nextRun) : ''}${t.schedule ? `<br><span class="muted">${h(t.schedule)}</span>` : '<span class="muted">not scheduled</span>'}</td>
<td data-label="Retention">${t.destinations.map(destination).join('<br>')}</td>
</tr>`;
}

function chip(t: TargetStatus): string {
  return `<span class="chip ${h(t.state)}">${h(t.state)}</span>`;
}

function failure(t: TargetStatus): string {
  const f = t.lastFailure;
  if (!f) return '<span class="muted">none recorded</span>';
  const what = [f.where && `in ${f.where}`, f.error].filter(Boolean).join(': ');
  return `${when(f.at)}<br>${h(what)}${f.cause ? `<br><span class="muted">${h(f.cause)}</span>` : ''}`;
}

function destination(d: TargetStatus['destinations'][number]): string {
  if (d.error) return `<strong>${h(d.name)}</strong>: <span class="warn">cannot be read: ${h(d.error)}</span>`;
  return `<strong>${h(d.name)}</strong> (${h(d.type)}): ${h(d.policy)} keeps ${h(d.keeps)} of ${h(d.backups)}`;
}

export function renderTargetPage(t: TargetStatus, generatedAt: string): string {
  const rows = t.backups
    .map(
      (b) => `<tr class="backup"><td data-label="Created">${when(b.createdAt)}</td>
<td data-label="Size">${h(formatBytes(b.size))}</td>
<td data-label="SHA-256"><code>${h(b.sha256)}</code></td>
<td data-label="Restore">${b.copies.map((c) => `<strong>${h(c.destination)}</strong><br><code>${h(c.restoreCommand)}</code>`).join('<br>')}</td></tr>`,
    )
    .join('');
  return document(
    `${t.name}: stepvault status`,
    `<p><a href="../">← all targets</a></p>
<h1>${h(t.name)} ${chip(t)}</h1>
<p class="muted">${h(t.engine)}${t.database ? ` · ${h(t.database)}` : ''} · ${h(t.reason)} · as of ${when(generatedAt)}</p>
${sparkline(t.sizes)}
<h2>Backups</h2>
${t.backups.length === 0 ? '<p class="muted">No backups stored.</p>' : `<table><thead><tr><th>Created</th><th>Size</th><th>SHA-256</th><th>Restore, per destination</th></tr></thead><tbody>${rows}</tbody></table>`}
<footer>${h(FOOTNOTE)}</footer>`,
  );
}

export function renderNotFound(what: string, known: string[]): string {
  return document(
    'not found: stepvault status',
    `<h1>Not found</h1><p>${h(what)}</p><p>Targets: ${known.map((n) => `<a href="/targets/${encodeURIComponent(n)}">${h(n)}</a>`).join(', ') || 'none'}</p><p><a href="/">← all targets</a></p>`,
  );
}

/**
 * A moment as people read it (minutes, UTC), the exact instant kept in the element for machines
 * and in its tooltip; a value that is not a date is shown as it is.
 */
function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return h(iso);
  const shown = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<time datetime="${h(iso)}" title="${h(iso)}">${h(shown)}</time>`;
}
