/**
 * One IAM role per function, each allowed only what its step does. The only `*` resources are
 * the EC2 network-interface actions a function in a VPC needs, which AWS grants no other way.
 */
import { pascalName, type StepName } from '../steps/table.ts';

export type Sub = { 'Fn::Sub': string };
export type Resource = string | Sub | { 'Fn::GetAtt': [string, string] } | { Ref: string };

export interface Statement {
  Effect: 'Allow';
  Action: string[];
  Resource: Resource | Resource[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** The network-interface actions of AWSLambdaVPCAccessExecutionRole: AWS only grants them on `*`. */
export const VPC_ACCESS: Statement = {
  Effect: 'Allow',
  Action: [
    'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces',
    'ec2:DescribeSubnets',
    'ec2:DeleteNetworkInterface',
    'ec2:AssignPrivateIpAddresses',
    'ec2:UnassignPrivateIpAddresses',
  ],
  Resource: '*',
};

export function logsStatement(functionName: string): Statement {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/${functionName}:*`,
    },
  };
}

export function roleLogicalId(fn: StepName): string {
  return `${pascalName(fn)}FunctionRole`;
}

export function role(fn: StepName, statements: Statement[]): Record<string, unknown> {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description: `stepvault ${fn}: only what the ${fn} step does`,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [{ PolicyName: `stepvault-${fn}`, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

/** Groups resources by action, so each statement names one action set. */
export function allow(action: string | string[], resources: Resource[]): Statement[] {
  return resources.length
    ? [{ Effect: 'Allow', Action: Array.isArray(action) ? action : [action], Resource: resources }]
    : [];
}
