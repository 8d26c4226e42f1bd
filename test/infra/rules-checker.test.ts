/**
 * Rules checked on write, in the template: the rules table's stream, the history table, the
 * checker's trigger (batching, partial failures, dead-letter queue), its exact grants, its alarms
 * and its dashboard widgets; and the construct on its own, with a bus of its own.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Duration, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Alarm, ComparisonOperator, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { IConstruct } from 'constructs';
import { KlarnaStack, type KlarnaStackProps } from '../../lib/klarna-stack.js';
import { RulesChecker } from '../../lib/rules-checker.js';
import { rulesHistoryTable, rulesTable } from '../../lib/tables.js';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties?: Json; DeletionPolicy?: string };

const context = (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Json }).context;
const build = (props: KlarnaStackProps = {}): { stack: KlarnaStack; template: Template; resources: Record<string, Resource> } => {
  const stack = new KlarnaStack(new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } }), 'RulesCheckerTestStack', { env: { region: 'eu-north-1' }, ...props });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources as Record<string, Resource> };
};
const { stack, template, resources } = build();

const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const tableId = (def: typeof rulesTable | typeof rulesHistoryTable): string => {
  const table = stack.tables.get(def);
  if (!table) throw new Error(`no table ${def.id}`);
  return logicalId(table);
};
const checker = stack.rulesChecker.checker;
const statements = (): Json[] => {
  const roleId = logicalId(checker.role);
  const policies = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as Json[]).some((role) => role.Ref === roleId));
  expect(policies).toHaveLength(1);
  return ((policies[0]?.Properties?.PolicyDocument as Json).Statement as Json[]).map((s) => ({ ...s, Action: [s.Action].flat().sort() }));
};
const alarmNamed = (id: string): Json => {
  const resource = resources[stack.getLogicalId(stack.backend.node.findChild(id).node.defaultChild as CfnElement)];
  if (!resource) throw new Error(`no alarm ${id}`);
  return resource.Properties ?? {};
};

describe('tables', () => {
  it('the rules table streams new and old images', () => {
    expect(resources[tableId(rulesTable)]?.Properties).toMatchObject({ StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
  });

  it('the history table keys on scope and version, expires expires_at, has point-in-time recovery and is kept', () => {
    const table = resources[tableId(rulesHistoryTable)];
    expect(table?.Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'scope', KeyType: 'HASH' },
        { AttributeName: 'version', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(table?.Properties?.StreamSpecification).toBeUndefined();
    expect(table?.DeletionPolicy).toBe('Retain');
  });
});

describe('the checker', () => {
  it('reads the rules stream in batches of 100 within 2 s, reports the failed record and sends what fails for a day to its queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(checker.function) },
      EventSourceArn: { 'Fn::GetAtt': [tableId(rulesTable), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 2,
      MaximumRecordAgeInSeconds: 86_400,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.rulesChecker.failedChecks), 'Arn'] } } },
    });
  });

  it('is told the history table, the retention and the bus, and nothing else', () => {
    expect((resources[logicalId(checker.function)]?.Properties?.Environment as { Variables: Json }).Variables).toEqual({
      // The instance's metrics namespace, which the alarms read.
      POWERTOOLS_METRICS_NAMESPACE: 'KlarnaServerless/RulesCheckerTestStack',
      RULES_HISTORY_TABLE: { Ref: tableId(rulesHistoryTable) },
      RULES_HISTORY_DAYS: '90',
      EVENT_BUS_NAME: { Ref: logicalId(stack.orders.bus) },
    });
  });

  it('may batch-read, put and update the history (never delete), read the rules stream and put events on its bus only', () => {
    const [, ...granted] = statements();
    expect(granted).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: ['events:PutEvents'], Resource: { 'Fn::GetAtt': [logicalId(stack.orders.bus), 'Arn'] } },
        { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [tableId(rulesHistoryTable), 'Arn'] } },
        { Effect: 'Allow', Action: ['dynamodb:ListStreams'], Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          Resource: { 'Fn::GetAtt': [tableId(rulesTable), 'StreamArn'] },
        },
      ]),
    );
    expect(JSON.stringify(granted)).not.toMatch(/dynamodb:(DeleteItem|Scan|Query|GetItem")/);
    // The rules table itself: its stream only, never an item.
    expect(JSON.stringify(granted)).not.toContain(`"${tableId(rulesTable)}","Arn"`);
  });

  it('takes the history retention from rulesHistoryDays and refuses one out of range', () => {
    const { stack: other, resources: otherResources } = build({ rulesHistoryDays: 30 });
    const fn = otherResources[other.getLogicalId(other.rulesChecker.checker.function.node.defaultChild as CfnElement)];
    expect((fn?.Properties?.Environment as { Variables: Json }).Variables.RULES_HISTORY_DAYS).toBe('30');
    expect(() => build({ rulesHistoryDays: 0 })).toThrow('historyRetentionDays must be an integer from 1 to 3650; got 0');
  });
});

describe('alarms', () => {
  it.each([
    ['RulesRejectedDefaultScopeAlarm', 'default'],
    ['RulesRejectedOrderScopeAlarm', 'order'],
    ['RulesRejectedOtherItemAlarm', 'other'],
  ])('%s fires in the minute a %s scope is rejected and keeps its state until an accepted write counts 0', (id, kind) => {
    expect(alarmNamed(id)).toMatchObject({
      Namespace: 'KlarnaServerless/RulesCheckerTestStack',
      MetricName: 'RulesRejected',
      Dimensions: [
        { Name: 'scope_kind', Value: kind },
        { Name: 'service', Value: 'klarna-serverless' },
      ],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: expect.stringMatching(/^AlarmTopic/) }],
      OKActions: [{ Ref: expect.stringMatching(/^AlarmTopic/) }],
    });
  });

  it('alarms when the checker fails, lags a minute behind or gives records up', () => {
    expect(alarmNamed('RulesCheckerFunctionErrorsAlarm')).toMatchObject({ MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(checker.function) } }] });
    expect(alarmNamed('RulesCheckIteratorAgeAlarm')).toMatchObject({ MetricName: 'IteratorAge', Threshold: 60_000 });
    expect(alarmNamed('RulesCheckFailedAlarm')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.rulesChecker.failedChecks), 'QueueName'] } }],
    });
  });

  it('the dashboard shows the rejections by kind and a table of rejected scopes and fields from the checker log', () => {
    const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);
    expect(body).toContain('Rejected rules: scope, version and field');
    expect(body).toContain('filter message = \\\\\\"rules rejected\\\\\\"');
    expect(body).toContain('RulesRejected');
  });
});

describe('on its own', () => {
  it('works in any stack with a bus of its own (the order lifecycle switched off)', () => {
    const own = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'OwnStack');
    const rules = new Table(own, 'Rules', { partitionKey: { name: 'scope', type: AttributeType.STRING }, stream: StreamViewType.NEW_AND_OLD_IMAGES });
    const history = new Table(own, 'History', {
      partitionKey: { name: 'scope', type: AttributeType.STRING },
      sortKey: { name: 'version', type: AttributeType.NUMBER },
    });
    const bus = new EventBus(own, 'Bus');
    const alarms: string[] = [];
    const checkerOnItsOwn = new RulesChecker(own, 'Checker', {
      rulesTable: rules,
      historyTable: history,
      eventBus: bus,
      historyRetentionDays: 7,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(5),
      alarm: (id, spec) => {
        alarms.push(id);
        return new Alarm(own, id, { metric: spec.metric as Metric, threshold: spec.threshold, comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD, evaluationPeriods: 1 });
      },
    });
    const ownTemplate = Template.fromStack(own);
    ownTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10, MaximumBatchingWindowInSeconds: 5 });
    ownTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { RULES_HISTORY_DAYS: '7', EVENT_BUS_NAME: { Ref: own.getLogicalId(bus.node.defaultChild as CfnElement) } } },
    });
    expect(alarms.sort()).toEqual([
      'RulesCheckFailedAlarm',
      'RulesCheckIteratorAgeAlarm',
      'RulesCheckerFunctionErrorsAlarm',
      'RulesRejectedDefaultScopeAlarm',
      'RulesRejectedOrderScopeAlarm',
      'RulesRejectedOtherItemAlarm',
    ]);
    expect(checkerOnItsOwn.rejectedAlarms.size).toBe(3);
  });
});
