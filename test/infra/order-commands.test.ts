/**
 * The shop's commands in the template: IAM-authorized methods for every command route, the
 * EventBridge rule for the command detail-types with a dead-letter queue, the ledger table and
 * its publisher, the grants (the command function only reads orders), `grantCommands`, alarms.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { KlarnaStack } from '../../lib/klarna-stack.js';
import { commandRoutes } from '../../lib/routes.js';
import { orderLedgerTable, ordersTable } from '../../lib/tables.js';
import { EXPIRY_INDEX } from '../../functions/orders/orders-store.js';
import { expiryIndexName } from '../../lib/order-commands.js';

type Json = Record<string, unknown>;

const context = (JSON.parse(readFileSync(path.join(process.cwd(), 'cdk.json'), 'utf8')) as { context: Json }).context;
const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
const stack = new KlarnaStack(app, 'CommandsTestStack', { env: { region: 'eu-north-1' }, klarnaIpAllowlist: 'both', orderCommands: { expiryWarningDays: 5, autoExtend: true } });
const shop = new Role(stack, 'ShopBackendRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
stack.grantCommands(shop);
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Json; DeletionPolicy?: string }>;
const logicalId = (construct: IConstruct): string => Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
const tableId = (def: typeof ordersTable | typeof orderLedgerTable): string => logicalId(stack.tables.get(def) as IConstruct);

const policyStatementsOf = (roleId: string): Json[] =>
  Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as Json[]).some((role) => role.Ref === roleId))
    .flatMap((r) => (r.Properties?.PolicyDocument as { Statement: Json[] }).Statement);

describe('command routes', () => {
  it('serves every command route with IAM authorization and nothing else', () => {
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method' && r.Properties?.AuthorizationType === 'AWS_IAM');
    expect(methods).toHaveLength(commandRoutes.length);
    expect(methods.map((m) => m.Properties?.HttpMethod).sort()).toEqual(commandRoutes.map((r) => r.method).sort());
  });

  it('denies the command routes to other accounts when the resource policy opens the API to everyone', () => {
    const api = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::RestApi');
    const statements = (api?.Properties?.Policy as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } } }),
    );
  });

  it('grantCommands lets a principal invoke the command routes and put command events on the bus', () => {
    const statements = policyStatementsOf(logicalId(shop));
    expect(statements.map((s) => s.Action).flat().sort()).toEqual(['events:PutEvents', 'execute-api:Invoke']);
    const invoke = statements.find((s) => s.Action === 'execute-api:Invoke');
    expect((invoke?.Resource as unknown[]).length).toBe(commandRoutes.length);
  });
});

describe('command functions', () => {
  it('read the order, write the ledger (never delete), put events, read the Order Management credentials', () => {
    for (const fn of [stack.commands.commandFunction, stack.commands.eventFunction]) {
      const statements = policyStatementsOf(logicalId(fn.role));
      const actions = (resource: string): unknown[] =>
        statements.filter((s) => JSON.stringify(s.Resource).includes(resource)).flatMap((s) => [s.Action].flat()).sort();
      expect(actions(tableId(ordersTable))).toEqual(['dynamodb:GetItem']);
      expect(actions(tableId(orderLedgerTable))).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
      expect(statements.some((s) => JSON.stringify(s.Action).includes('DeleteItem'))).toBe(false);
    }
  });

  it('routes the command detail-types from the bus to the event function, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { 'detail-type': ['Capture Order', 'Refund Order', 'Cancel Order', 'Release Authorization', 'Extend Authorization'], source: [{ 'anything-but': ['klarna-serverless'] }] },
      Targets: [Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.commands.failedCommands), 'Arn'] } } })],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack.commands.failedCommands), 'Arn'] } } },
    });
  });

  it('keeps the ledger (order_id + entry, stream, TTL, point-in-time recovery, retained) and publishes its stream', () => {
    expect(resources[tableId(orderLedgerTable)]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'order_id', KeyType: 'HASH' },
          { AttributeName: 'entry', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        TimeToLiveSpecification: { AttributeName: 'purge_at', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(stack.commands.publisher.function) },
      EventSourceArn: { 'Fn::GetAtt': [tableId(orderLedgerTable), 'StreamArn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('runs the expiry sweep every 6 hours with the warning days and auto-extension given, querying the expiry index and keeping it', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(6 hours)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.commands.expirySweep.function), 'Arn'] } })],
    });
    const environment = (resources[logicalId(stack.commands.expirySweep.function)]?.Properties?.Environment as { Variables: Json }).Variables;
    expect(environment).toMatchObject({ ORDERS_EXPIRY_WARNING_DAYS: '5', ORDERS_AUTO_EXTEND: 'true' });
    const statements = policyStatementsOf(logicalId(stack.commands.expirySweep.role));
    const onOrders = statements.filter((s) => JSON.stringify(s.Resource).includes(tableId(ordersTable))).flatMap((s) => [s.Action].flat()).sort();
    expect(onOrders).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    // Query on the expiry index alone, the one the function queries.
    const query = statements.find((s) => [s.Action].flat().includes('dynamodb:Query'));
    expect(JSON.stringify(query?.Resource)).toContain(`/index/${EXPIRY_INDEX}`);
    expect([expiryIndexName, ...ordersTable.globalIndexes.map((index) => index.name)].filter((name) => name === EXPIRY_INDEX)).toHaveLength(2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'AuthorizationsExpiredWithBalance', Threshold: 1 });
    expect(() => new KlarnaStack(new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } }), 'Bad', { env: { region: 'eu-north-1' }, orderCommands: { expiryWarningDays: 0 } })).toThrow(/expiryWarningDays/);
  });

  it('dead-letters command events EventBridge refuses for good: its own queue, named to the publisher, which may only send to it', () => {
    const queueId = logicalId(stack.commands.refusedEvents);
    expect(resources[queueId]?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    const environment = (resources[logicalId(stack.commands.publisher.function)]?.Properties?.Environment as { Variables: Json }).Variables;
    expect(environment.REFUSED_EVENTS_QUEUE_URL).toEqual({ Ref: queueId });
    const onQueue = policyStatementsOf(logicalId(stack.commands.publisher.role)).filter((s) => JSON.stringify(s.Resource).includes(queueId));
    expect(onQueue.flatMap((s) => [s.Action].flat()).sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    // Not the order events' queue: each publisher's letters in a queue of its own.
    expect(queueId).not.toBe(logicalId(stack.orders.refusedEvents));
  });

  it('alarms on commands Klarna could not take and on the dead-letter queues', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'OrderCommandsFailed', Namespace: stack.backend.metricsNamespace, Threshold: 1 });
    for (const queue of [stack.commands.failedCommands, stack.commands.failedEvents, stack.commands.refusedEvents]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
      });
    }
  });
});
