/**
 * The order lifecycle in the template: the orders table (stream, index, TTL, kept), the exact
 * grants of the push, notification, publisher and sweeper functions, the bus, the schedule and
 * the alarms.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Annotations, App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { KlarnaStack, alarmsWithoutDestinationWarning } from '../../lib/klarna-stack.js';
import { functions } from '../../lib/routes.js';
import { ordersTable, rulesTable } from '../../lib/tables.js';
import type { KlarnaFunction } from '../../lib/klarna-function.js';

type Json = Record<string, unknown>;

const context = (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Json }).context;
const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
const stack = new KlarnaStack(app, 'OrdersTestStack', {
  env: { region: 'eu-north-1' },
  orderManagement: { provider: 'klarna', region: 'na', environment: 'production', retentionDays: 60 },
});
Annotations.of(stack.backend).acknowledgeWarning(alarmsWithoutDestinationWarning, 'a test stack alerts nobody');
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Json; DeletionPolicy?: string }>;

const logicalId = (construct: IConstruct): string => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const tableId = (def: typeof ordersTable | typeof rulesTable): string => {
  const table = stack.tables.get(def);
  if (!table) throw new Error(`no table ${def.id}`);
  return logicalId(table);
};
const fnOf = (def: (typeof functions)[keyof typeof functions]): KlarnaFunction => {
  const fn = stack.functions.get(def);
  if (!fn) throw new Error(`no function ${def.id}`);
  return fn;
};
const statementsOf = (fn: KlarnaFunction): Json[] => {
  const roleId = logicalId(fn.role);
  const policies = Object.values(resources).filter(
    (r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as Json[]).some((role) => role.Ref === roleId),
  );
  expect(policies).toHaveLength(1);
  return ((policies[0]?.Properties?.PolicyDocument as Json).Statement as Json[]).map((s) => ({ ...s, Action: [s.Action].flat().sort() }));
};
const secretRef = (): Json => ({ Ref: logicalId(stack.backend.node.findChild('OrderManagementCredentials')) });
const ordersArn = (): Json => ({ 'Fn::GetAtt': [tableId(ordersTable), 'Arn'] });
const rulesArn = (): Json => ({ 'Fn::GetAtt': [tableId(rulesTable), 'Arn'] });

describe('orders table', () => {
  it('keys on order_id, streams new and old images, expires purge_at, indexes orders awaiting acknowledgement and authorizations that may expire (keys only), and is kept', () => {
    const [id, table] = Object.entries(resources).find(([key]) => key === tableId(ordersTable)) ?? [];
    expect(id).toBeDefined();
    expect(table?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'order_id', KeyType: 'HASH' }],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'purge_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        {
          IndexName: 'awaiting-acknowledgement',
          KeySchema: [
            { AttributeName: 'awaiting', KeyType: 'HASH' },
            { AttributeName: 'recorded_at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'authorization-expiry',
          KeySchema: [
            { AttributeName: 'expiry_bucket', KeyType: 'HASH' },
            { AttributeName: 'expiry_due', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
    expect(table?.DeletionPolicy).toBe('Retain');
  });
});

describe('push and notification functions', () => {
  it.each([functions.orderPush, functions.orderNotification].map((def) => [def.id, def] as const))(
    '%s may get, put and update orders (never delete), batch-read rules, read the tokens and the Order Management credentials',
    (_id, def) => {
      const statements = statementsOf(fnOf(def));
      expect(statements.slice(1)).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue'],
          Resource: [{ Ref: logicalId(stack.backend.node.findChild('KcoCallbackTokens')) }, secretRef()],
        },
        { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: ordersArn() },
        { Effect: 'Allow', Action: ['dynamodb:BatchGetItem'], Resource: rulesArn() },
      ]);
      const properties = resources[logicalId(fnOf(def).function)]?.Properties ?? {};
      expect(properties.Timeout).toBe(10);
      expect((properties.Environment as { Variables: Json }).Variables).toMatchObject({
        ORDERS_TABLE: { Ref: tableId(ordersTable) },
        KCO_API_CREDENTIALS_SECRET_ARN: secretRef(),
        KCO_API_PROVIDER: 'klarna',
        KCO_API_REGION: 'na',
        KCO_API_ENVIRONMENT: 'production',
        ORDERS_RETENTION_DAYS: '60',
      });
    },
  );
});

describe('events', () => {
  it('publishes from the orders stream in order, reporting the failed record, with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.orders.publisher.function) },
      EventSourceArn: { 'Fn::GetAtt': [tableId(ordersTable), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.orders.failedEvents), 'Arn'] } } },
    });
    expect((resources[logicalId(stack.orders.publisher.function)]?.Properties?.Environment as { Variables: Json }).Variables).toEqual({
      EVENT_BUS_NAME: { Ref: logicalId(stack.orders.bus) },
      REFUSED_EVENTS_QUEUE_URL: { Ref: logicalId(stack.orders.refusedEvents) },
      POWERTOOLS_METRICS_NAMESPACE: 'KlarnaServerless/OrdersTestStack',
    });
  });

  it('an event EventBridge refuses for good goes to its own queue, which the publisher may send to and which is alarmed', () => {
    const statements = statementsOf(stack.orders.publisher);
    const send = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.orders.refusedEvents)));
    expect(send?.Action).toEqual(expect.arrayContaining(['sqs:SendMessage']));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.orders.refusedEvents), 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('the publisher may put events on its bus only, read the orders stream and send failed batches to its queue', () => {
    const statements = statementsOf(stack.orders.publisher);
    const actions = statements.slice(1).map((s) => s.Action);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['events:PutEvents'],
        ['dynamodb:ListStreams'],
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      ]),
    );
    expect(statements.find((s) => (s.Action as string[]).includes('events:PutEvents'))?.Resource).toEqual({
      'Fn::GetAtt': [logicalId(stack.orders.bus), 'Arn'],
    });
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(PutItem|UpdateItem|GetItem|Query|Scan)/);
  });
});

describe('sweeper', () => {
  it('runs every 15 minutes and may only touch orders, their awaiting index, rules and the credentials', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.orders.sweeper.function), 'Arn'] } })],
    });
    expect(statementsOf(stack.orders.sweeper).slice(1)).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretRef() },
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], Resource: ordersArn() },
      {
        Effect: 'Allow',
        Action: ['dynamodb:Query'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [tableId(ordersTable), 'Arn'] }, '/index/awaiting-acknowledgement']] },
      },
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem'], Resource: rulesArn() },
    ]);
  });
});

describe('alarms', () => {
  it.each([
    ['orders still awaiting acknowledgement after a sweep', { Namespace: 'KlarnaServerless/OrdersTestStack', MetricName: 'OrdersAwaitingAcknowledgement', Threshold: 1 }],
    ['failed event batches in the dead-letter queue', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 }],
    ['events more than 5 minutes behind', { Namespace: 'AWS/Lambda', MetricName: 'IteratorAge', Threshold: 300_000 }],
  ])('alarms on %s', (_name, properties) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', properties);
  });

  it('alarms on empty Order Management credentials', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'KlarnaServerless/OrdersTestStack',
      MetricName: 'OrderManagementCredentialsMissing',
      Dimensions: [{ Name: 'service', Value: 'klarna-serverless' }],
      Threshold: 1,
    });
  });

  it('alarms when the sweeper gives up on an order', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'KlarnaServerless/OrdersTestStack', MetricName: 'OrdersSweepGaveUp', Statistic: 'Sum', Threshold: 1 });
  });

  it('alarms on errors of the publisher and the sweeper', () => {
    for (const fn of [stack.orders.publisher, stack.orders.sweeper]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(fn.function) } }],
      });
    }
  });
});
