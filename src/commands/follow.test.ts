/**
 * `start --wait` against a history in the shape AWS returns it (test/fixtures/aws-history: Lambda Tasks as
 * LambdaFunction* events linked by previousEventId), served by a local HTTP endpoint that speaks the Step Functions
 * JSON protocol, gives out the events a few at a time as the execution "runs", and pages them as AWS may: fewer per
 * page than asked for.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followExecution } from './follow.ts';

const FIXTURE = path.join(import.meta.dirname, '../../test/fixtures/aws-history/failed-dump.json');
const history = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { events: { id: number }[] }).events;
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:stepvault-prod-backup:orders-20261205T0300';

let server: Server;
let url: string;
let revealed = 0;
const requests: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      requests.push(body);
      // Each poll (a first page) finds five more events written since the last one.
      if (!body.nextToken) revealed = Math.min(history.length, revealed + 5);
      const visible = history.slice(0, revealed);
      const ordered = body.reverseOrder ? [...visible].reverse() : visible;
      const from = Number(body.nextToken ?? 0);
      const size = Math.min(Number(body.maxResults ?? 100), 4);
      const events = ordered.slice(from, from + size);
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify({ events, ...(from + size < ordered.length && { nextToken: String(from + size) }) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('start --wait on an AWS-shaped history', () => {
  it('prints each event once, each failed attempt of a Lambda Task, and ends with the execution', async () => {
    const client = new SFNClient({
      endpoint: url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    let printed = '';
    const end = await followExecution(client, ARN, { write: (text: string) => (printed += text) }, 1);

    expect(end).toEqual({ status: 'FAILED', error: 'States.Timeout', cause: 'Task timed out after 930.00 seconds' });
    const lines = printed.trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/\s+\d+\.\d\ds/, ' Ns').trimEnd())).toEqual([
      '→ Plan',
      '✓ Plan Ns',
      '→ ChooseRunner',
      '✓ ChooseRunner Ns',
      '→ Dump',
      '  Dump attempt 1 failed: ConnectionError: cannot reach PostgreSQL for target orders at db.internal:5432: connect ETIMEDOUT 10.0.3.7:5432',
      '  Dump attempt 2 failed: ConnectionError: cannot reach PostgreSQL for target orders at db.internal:5432: connect ETIMEDOUT 10.0.3.7:5432',
      '  Dump attempt 3 failed: States.Timeout: Task timed out after 930.00 seconds',
      '✗ Dump Ns  (failed: taking the failure branch)',
      '→ DumpFailed',
      '✓ DumpFailed Ns',
      '→ NotifyFailure',
      '✓ NotifyFailure Ns',
      '→ CleanupAfterFailure',
      '✓ CleanupAfterFailure Ns',
      '→ BackupFailed',
    ]);
    // Durations come from the events' own timestamps: Dump's three attempts and two waits between them.
    expect(lines.find((l) => l.startsWith('✗ Dump'))).toMatch(/ 9\.87s/);
    // Newest first, and each poll stops at what it already printed instead of reading from the start again.
    expect(requests.every((r) => r.reverseOrder === true)).toBe(true);
    const polls = requests.filter((r) => !r.nextToken).length;
    expect(polls).toBe(Math.ceil(history.length / 5));
    expect(requests.length).toBeLessThan(polls * 3);
  });
});
