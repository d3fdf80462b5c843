/**
 * The local runner behind the Step Functions API (JSON 1.0 over HTTP): StartExecution,
 * DescribeExecution, GetExecutionHistory and ListExecutions. `stepvault serve` runs it, so that
 * `stepvault start --wait`, `stepvault status` and `aws stepfunctions --endpoint-url` work
 * against local runs exactly as against AWS.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Runtime } from '../runtime.ts';
import { readDefinition, type StateMachineDefinition } from '../statemachine/definition.ts';
import { LOCAL_STATE_MACHINE_ARN, runWorkflow, type WorkflowEvent } from './runner.ts';

interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

interface Execution {
  executionArn: string;
  name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  history: HistoryEvent[];
}

class ApiError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export interface SfnServer {
  url: string;
  stateMachineArn: string;
  /** Resolves when every execution started so far has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startSfnServer(
  runtime: () => Runtime,
  options: { port?: number; retryDelayMs?: number } = {},
): Promise<SfnServer> {
  const executions = new Map<string, Execution>();
  const running = new Set<Promise<unknown>>();
  const stateTypes = typesOf(readDefinition());

  // biome-ignore lint/suspicious/noExplicitAny: a request body is the client's JSON, read as the API defines it
  const operations: Record<string, (body: Record<string, any>) => unknown> = {
    StartExecution(body) {
      if (body.stateMachineArn !== LOCAL_STATE_MACHINE_ARN)
        throw new ApiError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${body.stateMachineArn}' (this server runs ${LOCAL_STATE_MACHINE_ARN})`,
        );
      const name = body.name ?? randomBytes(16).toString('hex');
      const executionArn = `${LOCAL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
      if (executions.has(executionArn))
        throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      const input = body.input ?? '{}';
      const execution: Execution = {
        executionArn,
        name,
        status: 'RUNNING',
        startDate: Date.now() / 1000,
        input,
        history: [],
      };
      executions.set(executionArn, execution);
      const record = (type: string, details: Record<string, unknown> = {}) => {
        const id = execution.history.length + 1;
        execution.history.push({ id, previousEventId: id - 1, timestamp: Date.now() / 1000, type, ...details });
      };
      record('ExecutionStarted', {
        executionStartedEventDetails: { input, roleArn: 'arn:aws:iam::000000000000:role/local' },
      });
      const run = runWorkflow({
        runtime: runtime(),
        request: JSON.parse(input),
        executionName: name,
        ...(options.retryDelayMs !== undefined && { retryDelayMs: options.retryDelayMs }),
        onEvent: (event) => recordEvent(record, event, stateTypes),
      }).then((outcome) => {
        execution.status = outcome.status;
        execution.stopDate = Date.now() / 1000;
        if (outcome.status === 'SUCCEEDED') {
          execution.output = JSON.stringify(outcome.output);
          record('ExecutionSucceeded', { executionSucceededEventDetails: { output: execution.output } });
        } else {
          execution.error = outcome.error;
          execution.cause = outcome.cause;
          record('ExecutionFailed', { executionFailedEventDetails: { error: outcome.error, cause: outcome.cause } });
        }
      });
      running.add(run);
      void run.finally(() => running.delete(run));
      return { executionArn, startDate: execution.startDate };
    },
    DescribeExecution(body) {
      const e = find(body.executionArn);
      return {
        executionArn: e.executionArn,
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: e.name,
        status: e.status,
        startDate: e.startDate,
        input: e.input,
        ...(e.stopDate && { stopDate: e.stopDate }),
        ...(e.output && { output: e.output }),
        ...(e.error && { error: e.error }),
        ...(e.cause && { cause: e.cause }),
      };
    },
    GetExecutionHistory(body) {
      const e = find(body.executionArn);
      const start = body.nextToken ? Number(body.nextToken) : 0;
      const size = body.maxResults || 100;
      const events = e.history.slice(start, start + size);
      return { events, ...(start + size < e.history.length && { nextToken: String(start + size) }) };
    },
    ListExecutions(body) {
      const list = [...executions.values()]
        .filter((e) => !body.statusFilter || e.status === body.statusFilter)
        .sort((a, b) => b.startDate - a.startDate)
        .slice(0, body.maxResults || 100)
        .map((e) => ({
          executionArn: e.executionArn,
          stateMachineArn: LOCAL_STATE_MACHINE_ARN,
          name: e.name,
          status: e.status,
          startDate: e.startDate,
          ...(e.stopDate && { stopDate: e.stopDate }),
        }));
      return { executions: list };
    },
  };

  function find(arn: string): Execution {
    const execution = executions.get(arn);
    if (!execution) throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AWSStepFunctions\./, '');
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      try {
        const handler = operations[operation];
        if (!handler)
          throw new ApiError('UnknownOperationException', `${operation || 'no operation'} is not served locally`);
        reply(200, handler(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')));
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
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function typesOf(definition: StateMachineDefinition): Map<string, string> {
  const types = new Map<string, string>();
  const visit = (machine: StateMachineDefinition) => {
    for (const [name, state] of Object.entries(machine.States)) {
      types.set(name, state.Type);
      if (state.ItemProcessor) visit(state.ItemProcessor);
    }
  };
  visit(definition);
  return types;
}

/** Our events in Step Functions' history vocabulary (TaskStateEntered, MapStateExited, …). */
function recordEvent(
  record: (type: string, details?: Record<string, unknown>) => void,
  event: WorkflowEvent,
  types: Map<string, string>,
): void {
  const type = types.get(event.state) ?? 'Task';
  switch (event.type) {
    case 'state-entered':
      record(`${type}StateEntered`, {
        stateEnteredEventDetails: { name: event.state, input: JSON.stringify(event.input ?? null) },
      });
      break;
    case 'state-exited':
      record(`${type}StateExited`, {
        stateExitedEventDetails: { name: event.state, output: JSON.stringify(event.output ?? null) },
      });
      break;
    case 'state-failed':
      if (type === 'Task')
        record('TaskFailed', {
          taskFailedEventDetails: {
            resourceType: 'lambda',
            resource: event.state,
            error: event.error,
            cause: event.cause,
          },
        });
      break;
    case 'state-retried':
    case 'state-caught':
      break;
  }
}
