/**
 * The Step Functions API operations `stepvault serve` answers, with the request fields and response shapes of the
 * API reference: StartExecution, StopExecution, DescribeExecution, GetExecutionHistory, ListExecutions,
 * ListStateMachines, DescribeStateMachine and DescribeStateMachineForExecution. One state machine is served: this
 * config's backup workflow.
 */
import { LOCAL_STATE_MACHINE_ARN } from '../runner.ts';
import { ApiError } from './api-error.ts';
import { type Execution, type Executions, LOCAL_ROLE_ARN } from './executions.ts';
import { page } from './paging.ts';
import {
  executionArnOf,
  executionInputOf,
  executionNameOf,
  maxResultsOf,
  stateMachineArnOf,
  statusFilterOf,
} from './validation.ts';

const STATE_MACHINE_NAME = LOCAL_STATE_MACHINE_ARN.split(':').at(-1)!;

// biome-ignore lint/suspicious/noExplicitAny: the client's JSON, read field by field as the API defines it
export type Operation = (body: Record<string, any>) => unknown;

export function operations(executions: Executions, definition: () => string): Record<string, Operation> {
  const createdAt = Date.now() / 1000;
  const served = (arn: string) => {
    if (arn !== LOCAL_STATE_MACHINE_ARN)
      throw new ApiError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${arn}' (this server runs ${LOCAL_STATE_MACHINE_ARN})`,
      );
  };
  const settings = {
    roleArn: LOCAL_ROLE_ARN,
    loggingConfiguration: { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: { enabled: false },
  };

  return {
    StartExecution(body) {
      const arn = stateMachineArnOf(body.stateMachineArn);
      const name = body.name === undefined ? undefined : executionNameOf(body.name);
      const input = executionInputOf(body.input);
      served(arn);
      const execution = executions.start(name, input);
      return { executionArn: execution.executionArn, startDate: execution.startDate };
    },
    StopExecution(body) {
      const execution = executions.stop(executionArnOf(body.executionArn), body.error, body.cause);
      return { stopDate: execution.stopDate };
    },
    DescribeExecution(body) {
      const e = executions.find(executionArnOf(body.executionArn));
      return {
        ...summary(e),
        input: e.input,
        inputDetails: { included: true },
        ...(e.output !== undefined && { output: e.output, outputDetails: { included: true } }),
        ...(e.error !== undefined && { error: e.error }),
        ...(e.cause !== undefined && { cause: e.cause }),
      };
    },
    GetExecutionHistory(body) {
      const e = executions.find(executionArnOf(body.executionArn));
      const descending = body.reverseOrder === true;
      const { items, nextToken } = page(e.history.events, (event) => event.id, {
        scope: `${e.executionArn}|${descending}`,
        maxResults: maxResultsOf(body.maxResults),
        nextToken: body.nextToken,
        descending,
      });
      return { events: items, ...(nextToken && { nextToken }) };
    },
    ListExecutions(body) {
      const arn = stateMachineArnOf(body.stateMachineArn);
      const status = statusFilterOf(body.statusFilter);
      const maxResults = maxResultsOf(body.maxResults);
      served(arn);
      const matching = executions.all().filter((e) => !status || e.status === status);
      const { items, nextToken } = page(matching, (e) => e.seq, {
        scope: `${arn}|${status ?? ''}`,
        maxResults,
        nextToken: body.nextToken,
        descending: true,
      });
      return { executions: items.map(summary), ...(nextToken && { nextToken }) };
    },
    ListStateMachines(body) {
      const { items, nextToken } = page([{ seq: 1 }], (m) => m.seq, {
        scope: 'state-machines',
        maxResults: maxResultsOf(body.maxResults),
        nextToken: body.nextToken,
        descending: false,
      });
      const machines = items.map(() => ({
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: STATE_MACHINE_NAME,
        type: 'STANDARD',
        creationDate: createdAt,
      }));
      return { stateMachines: machines, ...(nextToken && { nextToken }) };
    },
    DescribeStateMachine(body) {
      const arn = stateMachineArnOf(body.stateMachineArn);
      served(arn);
      return {
        stateMachineArn: arn,
        name: STATE_MACHINE_NAME,
        status: 'ACTIVE',
        definition: definition(),
        type: 'STANDARD',
        creationDate: createdAt,
        ...settings,
      };
    },
    DescribeStateMachineForExecution(body) {
      executions.find(executionArnOf(body.executionArn));
      return {
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: STATE_MACHINE_NAME,
        definition: definition(),
        updateDate: createdAt,
        ...settings,
      };
    },
  };
}

/** What ListExecutions gives of an execution (DescribeExecution adds its input, output and error). */
function summary(e: Execution) {
  return {
    executionArn: e.executionArn,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    name: e.name,
    status: e.status,
    startDate: e.startDate,
    ...(e.stopDate !== undefined && { stopDate: e.stopDate }),
  };
}
