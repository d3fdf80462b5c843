/** A local HTTP server that records every request it receives and answers with `respond`. */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpRecorder {
  url: string;
  port: number;
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

export async function startHttpRecorder(
  respond: (request: RecordedRequest) => { status: number; body?: string; headers?: Record<string, string> } = () => ({
    status: 200,
  }),
): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const answer = respond(request);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
