import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneRunners, pruneServerWrites, runnersInUse, usesServerWrites } from '../deploy/runners.ts';
import { ECS_RUN_TASK_SYNC } from '../task/contract.ts';
import { parseConfig } from '../config/load.ts';
import { generateDeployment } from '../deploy/generate.ts';
import {
  DEFAULT_FUNCTION_TIMEOUTS,
  EXECUTION_MARGIN_SECONDS,
  RDS_POLL_SECONDS,
  RDS_POLL_STATE,
  TASK_MARGIN_SECONDS,
  timedDefinition,
  timeoutInputs,
  worstCaseSeconds,
  type TimeoutInputs,
} from './execution-timeout.ts';
import { readDefinition, type StateDefinition, type StateMachineDefinition } from './definition.ts';
import { LAMBDA_MAX_TIMEOUT_SECONDS, STEP_NAMES, stepOfSubstitution } from '../steps/table.ts';

const fixture = readFileSync(path.join(import.meta.dirname, '../../test/fixtures/deploy.config.yml'), 'utf8');
const definition = readDefinition();

/** Every Task, at every depth, with its state name. */
function tasks(machine: StateMachineDefinition): [string, StateDefinition][] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? ([[name, state]] as [string, StateDefinition][]) : []),
    ...(state.ItemProcessor ? tasks(state.ItemProcessor) : []),
  ]);
}

/**
 * One Task's worst case, written out as the language defines it: every attempt runs to its
 * timeout, and the waits between them grow by the back-off rate up to MaxDelaySeconds.
 */
function task(timeout: number, retries: number, interval: number): number {
  let waits = 0;
  for (let i = 0; i < retries; i++) waits += Math.min(interval * 2 ** i, 300);
  return (1 + retries) * timeout + waits;
}

/**
 * The longest run, by hand, for given function timeouts, RDS polling limit and destinations:
 * everything succeeds as late as it can until Cleanup, which fails, and the failure branch runs.
 */
function longestByHand(t: Record<string, number>, rdsSeconds: number, destinations: number): number {
  const m = TASK_MARGIN_SECONDS;
  const check = RDS_POLL_SECONDS + task(t.checkRdsBackup! + m, 3, 15); // Wait, then one look
  // The longest of the runners' branches: Dump with the RDS polling loop, StreamDump, or the ECS
  // task (its own 2 h timeout) and CollectDump.
  const staged = task(t.dump! + m, 3, 15) + check + rdsSeconds + check; // the polling loop, and one more look
  const streamed = task(t.streamDump! + m, 3, 15);
  // The ECS task started four times (a stopped task retried three times, after 15, 30 and 60 s).
  const fargate = 4 * task(FARGATE_TASK_SECONDS, 3, 15) + 15 + 30 + 60 + task(t.collectDump! + m, 3, 2);
  return (
    task(t.plan! + m, 3, 2) +
    Math.max(staged, streamed, fargate) +
    Math.ceil(destinations / 4) * task(t.upload! + m, 4, 10) +
    task(t.verify! + m, 4, 10) +
    task(t.prune! + m, 4, 10) +
    task(t.notify! + m, 3, 2) + // NotifySuccess
    task(t.cleanup! + m, 3, 2) + // Cleanup, which fails
    task(t.notify! + m, 3, 2) + // NotifyFailure
    task(t.cleanup! + m, 3, 2) // CleanupAfterFailure
  );
}

/** The ECS task's TimeoutSeconds in statemachine/backup.asl.json. */
const FARGATE_TASK_SECONDS = 7200;

const MAX_TIMEOUTS = Object.fromEntries(STEP_NAMES.map((fn) => [fn, LAMBDA_MAX_TIMEOUT_SECONDS]));

describe('the execution timeout', () => {
  it('with the default function timeouts and an RDS target at its default 240 minutes: above the longest run, failure branch included', () => {
    const inputs: TimeoutInputs = {
      functionTimeouts: DEFAULT_FUNCTION_TIMEOUTS,
      loopSeconds: { WaitForRdsBackup: 240 * 60 },
      mapItems: 2,
    };
    const timed = timedDefinition(definition, inputs);
    const longest = longestByHand(DEFAULT_FUNCTION_TIMEOUTS, 240 * 60, 2);
    expect(worstCaseSeconds(timed, inputs)).toBe(longest);
    expect(timed.TimeoutSeconds).toBe(longest + EXECUTION_MARGIN_SECONDS);
    // The old fixed 7200 s was shorter than mssql.timeoutMinutes alone.
    expect(timed.TimeoutSeconds).toBeGreaterThan(240 * 60);
  });

  it('with every function at Lambda’s 900 s, SQL Server’s longest polling limit and many destinations: still above, and within Step Functions’ one year', () => {
    const inputs: TimeoutInputs = {
      functionTimeouts: MAX_TIMEOUTS as typeof DEFAULT_FUNCTION_TIMEOUTS,
      loopSeconds: { WaitForRdsBackup: 1440 * 60 },
      mapItems: 9,
    };
    const timed = timedDefinition(definition, inputs);
    const longest = longestByHand(MAX_TIMEOUTS, 1440 * 60, 9);
    expect(worstCaseSeconds(timed, inputs)).toBe(longest);
    expect(timed.TimeoutSeconds).toBe(longest + EXECUTION_MARGIN_SECONDS);
    expect(timed.TimeoutSeconds).toBeLessThan(365 * 24 * 3600);
  });

  it('comes from the config: function timeouts, rds targets’ timeoutMinutes, destinations per target', () => {
    const text = fixture
      .replace(
        '    dump: { memorySize: 2048, timeout: 900 }\n',
        '    dump: { memorySize: 2048, timeout: 900 }\n    notify: { timeout: 300 }\n    plan: { timeout: 120 }\n',
      )
      .replace(
        'targets:\n',
        `targets:\n  erp:\n    engine: mssql\n    host: erp.abc.eu-west-1.rds.amazonaws.com\n    database: erp\n    user: backup\n    password: "ssm:/prod/erp/pw"\n    destinations: [primary]\n    mssql: { mode: rds, timeoutMinutes: 600 }\n`,
      );
    const config = parseConfig(text, '/x/stepvault.config.yml', '/x');
    const inputs = timeoutInputs(config);
    expect(inputs).toEqual({
      functionTimeouts: { ...DEFAULT_FUNCTION_TIMEOUTS, notify: 300, plan: 120 },
      loopSeconds: { WaitForRdsBackup: 36_000 },
      mapItems: 2,
      taskSeconds: 7200,
    });
    const timed = timedDefinition(definition, inputs);
    expect(timed.TimeoutSeconds).toBe(
      longestByHand({ ...DEFAULT_FUNCTION_TIMEOUTS, notify: 300, plan: 120 }, 36_000, 2) + EXECUTION_MARGIN_SECONDS,
    );
  });

  it('refuses a loop without a bound: its worst case would be forever', () => {
    expect(() =>
      worstCaseSeconds(definition, { functionTimeouts: DEFAULT_FUNCTION_TIMEOUTS, loopSeconds: {}, mapItems: 1 }),
    ).toThrow('the loop from IsRdsBackupDone back to WaitForRdsBackup has no bound, so no worst case');
  });
});

describe('the fargate task’s timeout', () => {
  const withFargate = (targets: string) =>
    parseConfig(fixture.replace('targets:\n', `targets:\n${targets}`), '/x/stepvault.config.yml', '/x');
  const fargateTarget = (name: string, fargate = '') =>
    `  ${name}:\n    engine: postgres\n    host: ${name}.example.com\n    database: ${name}\n    user: backup\n    password: "ssm:/prod/${name}/pw"\n    destinations: [primary]\n    runner: fargate\n${fargate}`;

  it('is fargate.timeoutMinutes, the longest of the targets that may run on fargate, and the execution’s stays above it', () => {
    const config = withFargate(
      fargateTarget('small', '    fargate: { timeoutMinutes: 30 }\n') +
        fargateTarget('large', '    fargate: { cpu: 4096, memory: 8192, timeoutMinutes: 600 }\n'),
    );
    const inputs = timeoutInputs(config);
    expect(inputs.taskSeconds).toBe(36_000);
    const timed = timedDefinition(definition, inputs);
    expect(timed.States.FargateDump!.TimeoutSeconds).toBe(36_000);
    // Four tasks (a stopped task is retried three times), each with four attempts (RunTask's own failures are
    // retried three times), then the failure branch.
    expect(timed.TimeoutSeconds as number).toBeGreaterThan(16 * 36_000);
    expect(worstCaseSeconds(timed, inputs) + EXECUTION_MARGIN_SECONDS).toBe(timed.TimeoutSeconds);
  });

  it('is two hours by default, and a target’s shorter limit is its own', () => {
    expect(timeoutInputs(withFargate(fargateTarget('plain'))).taskSeconds).toBe(7200);
    expect(
      timeoutInputs(withFargate(fargateTarget('quick', '    fargate: { timeoutMinutes: 20 }\n'))).taskSeconds,
    ).toBe(1200);
  });

  it.each([
    [0, 'must be at least 1'],
    [1441, "must be at most 1440 (a day: a longer dump would overlap the next night's run)"],
  ])('refuses timeoutMinutes %i: %s', (minutes, message) => {
    expect(() => withFargate(fargateTarget('odd', `    fargate: { timeoutMinutes: ${minutes} }\n`))).toThrow(
      `targets.odd.fargate.timeoutMinutes: ${message}`,
    );
  });
});

describe('Task timeouts', () => {
  it('agree with the functions’ timeouts: each a little longer than its function may run, whatever the config allows', () => {
    for (const timeouts of [DEFAULT_FUNCTION_TIMEOUTS, MAX_TIMEOUTS as typeof DEFAULT_FUNCTION_TIMEOUTS]) {
      const timed = timedDefinition(definition, {
        functionTimeouts: timeouts,
        loopSeconds: { WaitForRdsBackup: 0 },
        mapItems: 1,
      });
      for (const [name, state] of tasks(timed)) {
        // The ECS task keeps its own timeout: no Lambda limit applies to it.
        if (state.Resource === ECS_RUN_TASK_SYNC) {
          expect(state.TimeoutSeconds, name).toBe(FARGATE_TASK_SECONDS);
          continue;
        }
        const step = stepOfSubstitution(/^\$\{(\w+)\}$/.exec(state.Resource!)![1]!)!;
        expect(state.TimeoutSeconds, name).toBe(timeouts[step] + TASK_MARGIN_SECONDS);
      }
    }
  });

  it('in statemachine/backup.asl.json are those of the default function timeouts, and the execution’s is left to be derived', () => {
    const timed = timedDefinition(definition, {
      functionTimeouts: DEFAULT_FUNCTION_TIMEOUTS,
      loopSeconds: { WaitForRdsBackup: 0 },
      mapItems: 1,
    });
    expect(tasks(definition).map(([name, s]) => [name, s.TimeoutSeconds])).toEqual(
      tasks(timed).map(([name, s]) => [name, s.TimeoutSeconds]),
    );
    expect(definition.TimeoutSeconds).toBe('${ExecutionTimeoutSeconds}');
  });
});

describe('the RDS polling Wait', () => {
  it('is RDS_POLL_SECONDS, by which Dump plans its looks, in the ASL file and in the definition that runs', () => {
    expect(definition.States[RDS_POLL_STATE]).toMatchObject({ Type: 'Wait', Seconds: RDS_POLL_SECONDS });
    const timed = timedDefinition(
      {
        ...definition,
        States: { ...definition.States, [RDS_POLL_STATE]: { ...definition.States[RDS_POLL_STATE]!, Seconds: 5 } },
      },
      {
        functionTimeouts: DEFAULT_FUNCTION_TIMEOUTS,
        loopSeconds: { [RDS_POLL_STATE]: 0 },
        mapItems: 1,
      },
    );
    expect(timed.States[RDS_POLL_STATE]!.Seconds).toBe(RDS_POLL_SECONDS);
  });

  it('is the Wait the polling loop goes back to', () => {
    expect(definition.States.IsRdsBackupDone).toMatchObject({ Default: RDS_POLL_STATE });
  });
});

describe('the deployed state machine', () => {
  it('gets the derived timeouts in its template, and an alarm on timed-out executions', () => {
    const text = fixture.replace(
      '    dump: { memorySize: 2048, timeout: 900 }\n',
      '    dump: { memorySize: 2048, timeout: 900 }\n    notify: { timeout: 300 }\n',
    );
    const config = parseConfig(text, '/x/stepvault.config.yml', '/x');
    const { resources, functions } = generateDeployment(config, 'ci', definition);
    const deployed = (resources.Resources.BackupStateMachine!.Properties as { Definition: StateMachineDefinition })
      .Definition;
    // Derived from the branches this config deploys (its targets stage on EFS: no ECS task; no RDS target: no
    // polling loop).
    const runners = runnersInUse(config);
    const deployedBranches = pruneServerWrites(pruneRunners(definition, runners), usesServerWrites(config));
    expect(deployed.TimeoutSeconds).toBe(timedDefinition(deployedBranches, timeoutInputs(config)).TimeoutSeconds);
    expect(JSON.stringify(deployed)).not.toContain('ExecutionTimeoutSeconds');
    expect(functions.notify?.timeout).toBe(300);
    expect(deployed.States.NotifySuccess!.TimeoutSeconds).toBe(330);
    expect(deployed.States.NotifyFailure!.TimeoutSeconds).toBe(330);
    expect(resources.Resources.ExecutionsTimedOutAlarm).toMatchObject({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsTimedOut',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'BackupStateMachine' } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [{ Ref: 'AlarmTopic' }],
      },
    });
  });
});
