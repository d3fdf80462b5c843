/**
 * The status page over HTTP: `/`, `/targets/<name>` and `/health`, read-only. Only GET and HEAD
 * are answered; any other method gets 405, so nothing on these paths can change anything.
 * The report is collected afresh for every request: the page shows what is stored now.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redact } from '../redact.ts';
import { healthOf } from './health.ts';
import { renderNotFound, renderStatusPage, renderTargetPage } from './html.ts';
import type { StatusReport } from './model.ts';

export function statusHandler(collect: () => Promise<StatusReport>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://status.invalid');
    const send = (code: number, type: string, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(code, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ...extra,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const html = 'text/html; charset=utf-8';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain; charset=utf-8', `${req.method} is not allowed: the status page is read-only\n`, {
        Allow: 'GET, HEAD',
      });
      return;
    }
    try {
      if (url.pathname === '/health') {
        const { code, body } = healthOf(await collect());
        send(code, 'application/json', `${JSON.stringify(body)}\n`);
        return;
      }
      const report = await collect();
      if (url.pathname === '/') {
        send(200, html, renderStatusPage(report, { linkTargets: true }));
        return;
      }
      const match = /^\/targets\/([^/]+)\/?$/.exec(url.pathname);
      const name = match ? safeDecode(match[1]!) : undefined;
      const target = report.targets.find((t) => t.name === name);
      if (target) {
        send(200, html, renderTargetPage(target, report.generatedAt));
        return;
      }
      const what = match
        ? `There is no target named "${name}" in this config.`
        : `There is no page at ${url.pathname}.`;
      send(
        404,
        html,
        renderNotFound(
          what,
          report.targets.map((t) => t.name),
        ),
      );
    } catch (error) {
      send(
        500,
        'text/plain; charset=utf-8',
        `the status could not be collected: ${redact((error as Error).message)}\n`,
      );
    }
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
