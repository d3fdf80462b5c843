/**
 * What an operator watches: alarms (to an SNS topic with an optional e-mail subscription) and a
 * CloudWatch dashboard with a row per target. Both follow from the config: a new target gets its
 * alarms and widgets at the next deploy.
 */
import { METRIC_NAMESPACE } from '../observability/metrics.ts';
import { logicalName, type Resources } from './resources.ts';

export interface MonitoringInput {
  stage: string;
  targets: string[];
  /** The targets with alerts.sizeChangePercent: each gets an alarm on its SizeAnomaly metric. */
  sizeAlerts?: string[];
  /** Longest expected gap between backups, per scheduled target, in hours. */
  intervals: Map<string, number>;
  alarmEmail?: string;
  /** A customer-managed key for the alarm topic; without it the stack creates one (AlarmTopicKey). */
  alarmTopicKmsKeyId?: string;
  functionNames: Record<string, string>;
  timeouts: Record<string, number>;
  region: string;
}

/** The steps that run a dump on Lambda, against its 15-minute limit: each deployed one is watched for nearing it. */
const DUMPING_STEPS = ['dump', 'streamDump'];

function dumpingSteps(input: MonitoringInput): string[] {
  return DUMPING_STEPS.filter((step) => step in input.functionNames);
}

const dimensions = (target: string) => [
  { Name: 'service', Value: 'stepvault' },
  { Name: 'target', Value: target },
];

/** An alarm that fires when a count reaches 1 within five minutes. */
function countAlarm(
  description: string,
  namespace: string,
  metric: string,
  dimensions: unknown[],
): Record<string, unknown> {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: description,
      Namespace: namespace,
      MetricName: metric,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: 'AlarmTopic' }],
    },
  };
}

/**
 * The alarm topic's key. Encrypted with AWS's own alias/aws/sns, the topic would receive nothing:
 * that key's policy does not let CloudWatch alarms use it, and it cannot be changed. A key of the
 * stack's own (about $1 a month) lets them, and nothing else but the account's administrators.
 */
function alarmTopicKey(stage: string): Resources {
  return {
    AlarmTopicKey: {
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Delete',
      Properties: {
        Description: `stepvault ${stage}: encrypts the alarm topic`,
        EnableKeyRotation: true,
        KeyPolicy: {
          Version: '2012-10-17',
          Statement: [
            // The account's IAM policies decide who administers the key (KMS's default key policy).
            {
              Sid: 'AccountAdministersThroughIam',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
              Action: 'kms:*',
              Resource: '*',
            },
            {
              Sid: 'CloudWatchAlarmsPublish',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              Resource: '*',
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            },
          ],
        },
      },
    },
  };
}

export function alarms(input: MonitoringInput): Resources {
  const actions = [{ Ref: 'AlarmTopic' }];
  const resources: Resources = {
    AlarmTopic: {
      Type: 'AWS::SNS::Topic',
      Properties: {
        DisplayName: `stepvault ${input.stage} alarms`,
        KmsMasterKeyId: input.alarmTopicKmsKeyId ?? { Ref: 'AlarmTopicKey' },
      },
    },
    ...(!input.alarmTopicKmsKeyId && alarmTopicKey(input.stage)),
    ...(input.alarmEmail && {
      AlarmEmailSubscription: {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: 'AlarmTopic' }, Protocol: 'email', Endpoint: input.alarmEmail },
      },
    }),
    ExecutionsFailedAlarm: countAlarm('A stepvault execution failed (any target).', 'AWS/States', 'ExecutionsFailed', [
      { Name: 'StateMachineArn', Value: { Ref: 'BackupStateMachine' } },
    ]),
    // A timed-out execution ran no failure branch: no failure mail, no BackupFailed metric, no cleanup.
    ExecutionsTimedOutAlarm: countAlarm(
      'A stepvault execution timed out: it sent no failure mail and cleaned up nothing. Look at the execution, and at the staging share.',
      'AWS/States',
      'ExecutionsTimedOut',
      [{ Name: 'StateMachineArn', Value: { Ref: 'BackupStateMachine' } }],
    ),
  };
  for (const step of dumpingSteps(input)) {
    const title = `${step[0]!.toUpperCase()}${step.slice(1)}`;
    resources[`${title}NearTimeoutAlarm`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `The ${title} function ran longer than 80% of its ${input.timeouts[step]} s timeout: give it more time or memory before it fails.`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: [{ Name: 'FunctionName', Value: input.functionNames[step] }],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: Math.round(input.timeouts[step]! * 1000 * 0.8),
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: actions,
      },
    };
  }
  for (const target of input.targets) {
    const id = logicalName(target);
    resources[`BackupFailedAlarm${id}`] = countAlarm(
      `The backup of ${target} failed.`,
      METRIC_NAMESPACE,
      'BackupFailed',
      dimensions(target),
    );
    if (input.sizeAlerts?.includes(target)) {
      resources[`SizeAnomalyAlarm${id}`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: `The last backup of ${target} differs in size from the one before by more than alerts.sizeChangePercent: every step succeeded, but check that the right database was dumped (the success mail says by how much).`,
          Namespace: METRIC_NAMESPACE,
          MetricName: 'SizeAnomaly',
          Dimensions: dimensions(target),
          // Notify sends 0 or 1 once a run; the alarm returns to OK with the next five minutes without one.
          Statistic: 'Maximum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: actions,
        },
      };
    }
    const interval = input.intervals.get(target);
    if (interval === undefined) continue;
    // A quarter more than the longest expected gap, at most the seven days CloudWatch can look back.
    const hours = Math.min(168, Math.ceil(interval * 1.25) + 1);
    resources[`NoRecentBackupAlarm${id}`] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `No successful backup of ${target} in ${hours} hours (its schedule runs at least every ${interval} hours).`,
        Namespace: METRIC_NAMESPACE,
        MetricName: 'BackupSucceeded',
        Dimensions: dimensions(target),
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: hours,
        DatapointsToAlarm: hours,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        // No data is exactly what "no backup" looks like.
        TreatMissingData: 'breaching',
        AlarmActions: actions,
      },
    };
  }
  return resources;
}

/** The dashboard body, as CloudWatch takes it: JSON text. */
export function dashboardBody(input: MonitoringInput): string {
  const metric = (name: string, target: string, stat: string, label: string, options: Record<string, string> = {}) => [
    METRIC_NAMESPACE,
    name,
    'service',
    'stepvault',
    'target',
    target,
    { stat, label, ...options },
  ];
  const widgets: Record<string, unknown>[] = [];
  let y = 0;
  widgets.push({
    type: 'text',
    x: 0,
    y,
    width: 24,
    height: 2,
    properties: {
      markdown: `# stepvault (${input.stage})\nOne row per target: outcomes, duration, size. Alarms: see the AlarmTopic subscriptions.`,
    },
  });
  y += 2;
  for (const target of input.targets) {
    const interval = input.intervals.get(target);
    widgets.push(
      {
        type: 'metric',
        x: 0,
        y,
        width: 6,
        height: 6,
        properties: {
          title: `${target}: backups per day`,
          region: input.region,
          view: 'timeSeries',
          stacked: false,
          period: 86400,
          stat: 'Sum',
          metrics: [
            metric('BackupSucceeded', target, 'Sum', 'succeeded'),
            metric('BackupFailed', target, 'Sum', 'failed'),
          ],
        },
      },
      {
        type: 'metric',
        x: 6,
        y,
        width: 6,
        height: 6,
        properties: {
          title: `${target}: last success (successes in the last ${interval ?? 24} h)`,
          region: input.region,
          view: 'singleValue',
          period: (interval ?? 24) * 3600,
          metrics: [metric('BackupSucceeded', target, 'Sum', 'successes')],
        },
      },
      {
        type: 'metric',
        x: 12,
        y,
        width: 6,
        height: 6,
        properties: {
          title: `${target}: duration (s)`,
          region: input.region,
          view: 'timeSeries',
          period: 86400,
          metrics: [metric('DurationSeconds', target, 'Maximum', 'max')],
        },
      },
      {
        type: 'metric',
        x: 18,
        y,
        width: 6,
        height: 6,
        properties: {
          title: `${target}: dump size`,
          region: input.region,
          view: 'timeSeries',
          period: 86400,
          metrics: [
            metric('SizeBytes', target, 'Maximum', 'bytes'),
            // A 1 on the right axis marks the day a dump's size jumped (alerts.sizeChangePercent).
            ...(input.sizeAlerts?.includes(target)
              ? [metric('SizeAnomaly', target, 'Maximum', 'size anomaly', { yAxis: 'right' })]
              : []),
          ],
        },
      },
    );
    y += 6;
  }
  widgets.push({
    type: 'metric',
    x: 0,
    y,
    width: 8,
    height: 6,
    properties: {
      title: 'Step Functions executions',
      region: input.region,
      view: 'timeSeries',
      period: 3600,
      stat: 'Sum',
      metrics: ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut'].map((m) => [
        'AWS/States',
        m,
        'StateMachineArn',
        '${BackupStateMachine}',
      ]),
    },
  });
  widgets.push({
    type: 'metric',
    x: 8,
    y,
    width: 8,
    height: 6,
    properties: {
      title: 'Lambda errors',
      region: input.region,
      view: 'timeSeries',
      period: 3600,
      stat: 'Sum',
      metrics: Object.values(input.functionNames).map((name) => ['AWS/Lambda', 'Errors', 'FunctionName', name]),
    },
  });
  // A config whose dumps all run on Fargate has no dump function to watch.
  if (dumpingSteps(input).length)
    widgets.push({
      type: 'metric',
      x: 16,
      y,
      width: 8,
      height: 6,
      properties: {
        title: 'Dump duration against its timeout (ms)',
        region: input.region,
        view: 'timeSeries',
        period: 3600,
        stat: 'Maximum',
        metrics: dumpingSteps(input).map((step) => [
          'AWS/Lambda',
          'Duration',
          'FunctionName',
          input.functionNames[step]!,
        ]),
        annotations: {
          horizontal: [
            {
              label: 'timeout',
              value: Math.max(...dumpingSteps(input).map((step) => input.timeouts[step]!)) * 1000,
              color: '#d62728',
            },
          ],
        },
      },
    });
  return JSON.stringify({ widgets });
}

export function dashboard(input: MonitoringInput): Resources {
  // Fn::Sub fills ${BackupStateMachine} (its ARN) inside the JSON text.
  return {
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: { DashboardName: `stepvault-${input.stage}`, DashboardBody: { 'Fn::Sub': dashboardBody(input) } },
    },
  };
}
