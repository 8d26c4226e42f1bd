/**
 * The order's life after the purchase, as infrastructure: the Order Management credentials, the
 * settings the push and notification functions share, and (OrderLifecycle) the event bus, the
 * stream publisher, the sweeper and their alarms. The stack builds the push and notification
 * functions from the route table like every other function and hands them here.
 */
import { Duration, SecretValue, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, Metric, Stats, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ParamsAndSecretsLayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { deadLetterAlarm } from './dead-letter-queue.js';
import { KlarnaFunction } from './klarna-function.js';
import { addStreamPublisher } from './stream-publisher.js';
import type { AlarmSpec } from './monitoring.js';
import { METRICS_SERVICE, metricNames } from '../functions/shared/metric-names.js';

/**
 * The push and notification functions read the order from Klarna and acknowledge it within the
 * request: up to ORDERS_WORK_MS (8 s) of Klarna calls with retries, plus a cold start. 10 s
 * bounds that well below API Gateway's 29 s.
 */
export const orderFunctionTimeout = Duration.seconds(10);

export const orderManagementSecretEnvVar = 'KCO_API_CREDENTIALS_SECRET_ARN';

/** Which Order Management host: Kustom (default) or Klarna's regions; playground unless told. */
export type OrderManagementSettings = {
  readonly provider?: 'kustom' | 'klarna';
  readonly region?: 'eu' | 'na' | 'oc';
  readonly environment?: 'playground' | 'production';
  /** Days an order is kept in the orders table (TTL). Default 90. */
  readonly retentionDays?: number;
};

export const orderManagementEnvironment = (settings: OrderManagementSettings = {}): Record<string, string> =>
  Object.fromEntries(
    Object.entries({
      KCO_API_PROVIDER: settings.provider,
      KCO_API_REGION: settings.region,
      KCO_API_ENVIRONMENT: settings.environment,
      ORDERS_RETENTION_DAYS: settings.retentionDays === undefined ? undefined : String(settings.retentionDays),
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );

/** `{"username": "", "password": ""}` or `{"api_key": ""}`: filled in by the merchant after deploy. */
export const createOrderManagementSecret = (scope: Construct): Secret => {
  const secret = new Secret(scope, 'OrderManagementCredentials', {
    description:
      'Order Management API credentials: {"username": "...", "password": "..."} (Klarna or Kustom) or {"api_key": "kco_live_api_..."} (Kustom).',
    secretObjectValue: {
      username: SecretValue.unsafePlainText(''),
      password: SecretValue.unsafePlainText(''),
      api_key: SecretValue.unsafePlainText(''),
    },
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'Klarna and Kustom issue these API credentials in their merchant portals; no Lambda can rotate them. The merchant replaces the value when new ones are issued.',
  });
  return secret;
};

export type OrderLifecycleProps = {
  readonly ordersTable: Table;
  readonly ordersIndexName: string;
  readonly rulesTable: Table;
  readonly orderManagementCredentials: ISecret;
  readonly settings?: OrderManagementSettings;
  readonly tracing: boolean;
  /** The bus for the order events; a new one when not given. */
  readonly eventBus?: IEventBus;
  /** The namespace the instance's functions write their metrics to. */
  readonly metricsNamespace: string;
  /** The construct's Parameters and Secrets extension layer (for the sweeper). */
  readonly secretsExtension: ParamsAndSecretsLayerVersion;
  /** Environment every function of the instance gets (the metrics namespace). */
  readonly environment: Readonly<Record<string, string>>;
  /** The stack's alarm factory (actions on the alarm topic). */
  readonly alarm: (id: string, spec: AlarmSpec) => Alarm;
};

/** The lifecycle's Lambdas that no route serves: their construct ids and handler modules. */
export const lifecycleFunctions = {
  publisher: { id: 'OrderEventsPublisherFunction', entry: 'functions/orders/handlers/publish-events.ts' },
  sweeper: { id: 'OrderSweeperFunction', entry: 'functions/orders/handlers/sweep.ts' },
} as const;

/** How often the sweeper runs; it looks at orders recorded ORDERS_SWEEP_AFTER_MINUTES (30) ago. */
export const sweepSchedule = Duration.minutes(15);

/**
 * The event bus for the shop, the publisher that feeds it from the orders table's stream, the
 * sweeper and their alarms. Children (construct ids) are created in the scope passed in, so their
 * logical ids do not depend on this class.
 */
export class OrderLifecycle {
  readonly bus: IEventBus;
  readonly publisher: KlarnaFunction;
  readonly sweeper: KlarnaFunction;
  readonly failedEvents: Queue;
  readonly refusedEvents: Queue;

  constructor(scope: Construct, props: OrderLifecycleProps) {
    const { ordersTable, rulesTable, alarm } = props;
    this.bus =
      props.eventBus ?? new EventBus(scope, 'OrderEventBus', { description: 'Order events for the shop: source klarna-serverless (docs/orders-and-events.md: Events for the shop).' });

    // ---- Publisher: stream → bus --------------------------------------------------------------
    ({ publisher: this.publisher, failedEvents: this.failedEvents, refusedEvents: this.refusedEvents } = addStreamPublisher(scope, {
      fn: lifecycleFunctions.publisher,
      table: ordersTable,
      tableLabel: 'orders',
      eventKind: 'order',
      failedQueueId: 'OrderEventsFailedQueue',
      refusedQueueId: 'OrderEventsRefusedQueue',
      bus: this.bus,
      environment: props.environment,
      tracing: props.tracing,
    }));

    // ---- Sweeper ----------------------------------------------------------------------------
    this.sweeper = new KlarnaFunction(scope, lifecycleFunctions.sweeper.id, {
      entry: lifecycleFunctions.sweeper.entry,
      environment: {
        ...props.environment,
        ORDERS_TABLE: ordersTable.tableName,
        RULES_TABLE: rulesTable.tableName,
        [orderManagementSecretEnvVar]: props.orderManagementCredentials.secretArn,
        ...orderManagementEnvironment(props.settings),
      },
      timeout: Duration.minutes(2),
      tracing: props.tracing,
      secretArns: [props.orderManagementCredentials.secretArn],
      secretsExtension: props.secretsExtension,
    });
    this.sweeper.allow(
      new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [ordersTable.tableArn] }),
    );
    this.sweeper.allow(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${ordersTable.tableArn}/index/${props.ordersIndexName}`] }));
    // The rules are read with one BatchGetItem (functions/shared/rules-store.ts).
    this.sweeper.allow(new PolicyStatement({ actions: ['dynamodb:BatchGetItem'], resources: [rulesTable.tableArn] }));
    new Rule(scope, 'OrderSweepSchedule', {
      description: 'Orders recorded but not acknowledged get another pass.',
      schedule: Schedule.rate(sweepSchedule),
      targets: [new LambdaFunction(this.sweeper.function, { retryAttempts: 0 })],
    });

    // ---- Alarms -----------------------------------------------------------------------------
    const fiveMinutes = Duration.minutes(5);
    alarm('OrdersAwaitingAcknowledgementAlarm', {
      metric: new Metric({ namespace: props.metricsNamespace, metricName: 'OrdersAwaitingAcknowledgement', statistic: Stats.MAXIMUM, period: sweepSchedule }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: 'An order is still not acknowledged after the sweeper retried it (docs/operations.md: alarms).',
    });
    alarm('OrderManagementCredentialsMissingAlarm', {
      metric: new Metric({
        namespace: props.metricsNamespace,
        metricName: metricNames.credentialsMissing,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic: Stats.SUM,
        period: fiveMinutes,
      }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: 'The Order Management credentials secret has empty fields: no order can be read or acknowledged (docs/operations.md: OrderManagementCredentialsMissingAlarm).',
    });
    alarm('OrdersSweepGaveUpAlarm', {
      metric: new Metric({ namespace: props.metricsNamespace, metricName: 'OrdersSweepGaveUp', statistic: Stats.SUM, period: sweepSchedule }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: 'The sweeper gave up on an order (too many tries or too old): it is needs_review with sweep_gave_up (docs/operations.md: OrdersSweepGaveUpAlarm).',
    });
    deadLetterAlarm(alarm, 'OrderEventsFailedAlarm', this.failedEvents, 'Order events could not be published for a day: their batches are in OrderEventsFailedQueue.');
    deadLetterAlarm(
      alarm,
      'OrderEventsRefusedAlarm',
      this.refusedEvents,
      'EventBridge refused an order event for good: it is in OrderEventsRefusedQueue (docs/operations.md: OrderEventsRefusedAlarm).',
    );
    alarm('OrderEventsIteratorAgeAlarm', {
      metric: this.publisher.function.metric('IteratorAge', { statistic: Stats.MAXIMUM, period: fiveMinutes }),
      threshold: 5 * 60_000,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Order events are more than 5 minutes behind the orders table (publishing is failing or stuck).',
    });
    for (const [id, fn] of [
      [lifecycleFunctions.publisher.id, this.publisher],
      [lifecycleFunctions.sweeper.id, this.sweeper],
    ] as const) {
      alarm(`${id}ErrorsAlarm`, {
        metric: fn.function.metricErrors({ statistic: Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: `${id} failed (unhandled error or timeout).`,
      });
    }
  }
}
