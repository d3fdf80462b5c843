/**
 * The Step Functions API (JSON 1.0 over HTTP) on this machine, backed by local runs of the real workflow: `stepvault
 * serve` runs it, so that `stepvault start --wait`, `stepvault status` and `aws stepfunctions --endpoint-url` work
 * against local runs as against AWS. The operations are in sfn/operations.ts; this file is the HTTP side.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.ts';
import { LOCAL_STATE_MACHINE_ARN, localDefinition } from './runner.ts';
import { ApiError } from './sfn/api-error.ts';
import { Executions } from './sfn/executions.ts';
import { operations } from './sfn/operations.ts';

export interface SfnServer {
  url: string;
  stateMachineArn: string;
  /** Resolves when every execution started so far has ended (and a stopped one's clean-up is done). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface SfnServerOptions {
  port?: number;
  /** Replaces every Retry interval (tests). */
  retryDelayMs?: number;
  /** Replaces the execution's TimeoutSeconds (tests, and seeing what a timed-out execution looks like). */
  executionTimeoutSeconds?: number;
  /** Answers the requests that are not Step Functions API calls (no X-Amz-Target header): the status page. */
  otherRequests?: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function startSfnServer(runtime: () => Runtime, options: SfnServerOptions = {}): Promise<SfnServer> {
  const executions = new Executions({
    runtime,
    ...(options.retryDelayMs !== undefined && { retryDelayMs: options.retryDelayMs }),
    ...(options.executionTimeoutSeconds !== undefined && { executionTimeoutSeconds: options.executionTimeoutSeconds }),
  });
  let definition: string | undefined;
  const served = operations(executions, () => {
    definition ??= JSON.stringify(localDefinition(runtime().config), null, 2);
    return definition;
  });

  const server: Server = createServer((req, res) => {
    if (options.otherRequests && req.headers['x-amz-target'] === undefined) {
      options.otherRequests(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      try {
        const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
        const handler = served[operation];
        if (!handler)
          throw new ApiError('UnknownOperationException', `${operation || 'no operation'} is not served locally`);
        reply(200, handler(requestBody(Buffer.concat(chunks).toString('utf8'))));
      } catch (error) {
        if (error instanceof ApiError) reply(400, { __type: error.type, message: error.message });
        else reply(500, { __type: 'InternalFailure', message: (error as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    idle: () => executions.idle(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the client's JSON, read as the API defines it
function requestBody(text: string): Record<string, any> {
  try {
    const body: unknown = JSON.parse(text || '{}');
    if (body && typeof body === 'object' && !Array.isArray(body)) return body;
  } catch {
    // Answered below, as AWS answers a body it cannot read.
  }
  throw new ApiError('SerializationException', 'the request body is not a JSON object');
}
