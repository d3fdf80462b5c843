/**
 * Renders a message model as plain text and as HTML. The HTML is one column with inline styles
 * (mail clients drop <style> blocks), system fonts and a coloured banner, 600 px at most: on a
 * phone it reads without zooming, and long keys and checksums wrap instead of overflowing.
 */
import type { Message, MessageModel } from './types.ts';

export function render(model: MessageModel): Message {
  return { outcome: model.outcome, subject: model.subject, text: renderText(model), html: renderHtml(model), model };
}

export function renderText(model: MessageModel): string {
  const width = Math.max(...model.facts.map(([label]) => label.length)) + 2;
  const lines = [
    model.headline,
    '',
    ...model.facts.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    ...model.sections.flatMap((s) => ['', `${s.title}:`, ...s.lines.map((l) => `  ${l}`)]),
    ...(model.link ? ['', `${model.link.label}: ${model.link.url}`] : []),
    '',
    ...model.footer,
  ];
  return `${lines.join('\n')}\n`;
}

const BANNER = { success: '#1a7f37', failure: '#cf222e' };
const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = 'ui-monospace,SFMono-Regular,Menlo,Consolas,monospace';

export function renderHtml(model: MessageModel): string {
  const facts = model.facts
    .map(
      ([label, value]) =>
        `<tr><td style="padding:6px 12px 6px 0;color:#57606a;white-space:nowrap;vertical-align:top">${escapeHtml(label)}</td>` +
        `<td style="padding:6px 0;${isCode(label) ? `word-break:break-all;font-family:${MONO}` : 'overflow-wrap:anywhere'}">${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const sections = model.sections
    .map(
      (s) =>
        `<h2 style="font-size:15px;margin:20px 0 6px">${escapeHtml(s.title)}</h2>` +
        `<ul style="margin:0;padding-left:18px">${s.lines
          .map((l) => {
            const nested = l.startsWith('  ') ? 'margin-left:18px;list-style:circle;' : '';
            const font = s.code ? `word-break:break-all;font-family:${MONO};font-size:13px` : 'overflow-wrap:anywhere';
            return `<li style="margin:4px 0;${nested}${font}">${escapeHtml(l.trim())}</li>`;
          })
          .join('')}</ul>`,
    )
    .join('');
  const link = model.link
    ? `<p style="margin:24px 0 8px"><a href="${escapeHtml(model.link.url)}" style="display:inline-block;background:#0969da;color:#ffffff;text-decoration:none;padding:10px 16px;border-radius:6px;font-weight:600">${escapeHtml(model.link.label)}</a></p>`
    : '';
  const footer = model.footer
    .map((l) => `<p style="margin:4px 0;color:#57606a;font-size:12px;overflow-wrap:anywhere">${escapeHtml(l)}</p>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(model.subject)}</title></head>
<body style="margin:0;padding:0;background:#f6f8fa;font-family:${FONT};color:#1f2328;font-size:15px;line-height:1.45">
<div style="max-width:600px;margin:0 auto;padding:12px">
<div style="background:${BANNER[model.outcome]};color:#ffffff;padding:16px;border-radius:8px 8px 0 0;font-size:18px;font-weight:600">${escapeHtml(model.headline)}</div>
<div style="background:#ffffff;padding:16px;border:1px solid #d0d7de;border-top:0;border-radius:0 0 8px 8px">
<table role="presentation" style="border-collapse:collapse;width:100%;font-size:14px">${facts}</table>
${sections}${link}
<div style="margin-top:20px;padding-top:12px;border-top:1px solid #d0d7de">${footer}</div>
</div></div></body></html>
`;
}

function isCode(label: string): boolean {
  return /sha|run|key|execution/i.test(label);
}

function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
