/**
 * The shop's commands on its orders, as infrastructure (issue 24): the command function behind the
 * IAM-authorized routes of lib/routes.ts `commandRoutes`, its EventBridge twin for the detail-types
 * `Capture Order` … on the order bus, the publisher of the ledger table's stream, the dead-letter
 * queues and the alarms. `grantCommands(grantee)` lets the shop's backend call the routes (SigV4)
 * and put command events on the bus.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AuthorizationType, LambdaIntegration, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import { ComparisonOperator, Metric, Stats, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Match, Rule, Schedule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, Effect, Grant, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ParamsAndSecretsLayerVersion } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { COMMAND_FAILED_METRIC, EXPIRED_METRIC, commandDetailTypes } from '../functions/orders/command-names.js';
import { deadLetterAlarm, deadLetterQueue } from './dead-letter-queue.js';
import { KlarnaFunction } from './klarna-function.js';
import { addStreamPublisher } from './stream-publisher.js';
import type { AlarmSpec } from './monitoring.js';
import { orderManagementEnvironment, orderManagementSecretEnvVar, type OrderManagementSettings } from './order-lifecycle.js';
import { commandRoutes, orderCommandEventsFunction, orderCommandPublisherFunction, orderCommandsFunction } from './routes.js';
import { orderLedgerTable, ordersTable as ordersTableDef } from './tables.js';

/** The commands' settings a deployment may change (KlarnaStackProps.orderCommands). */
export type OrderCommandsSettings = {
  /** Days before an authorization ends that `Authorization Expiring` is published. @default 3 */
  readonly expiryWarningDays?: number;
  /** Extend authorizations automatically instead of only warning. @default false */
  readonly autoExtend?: boolean;
};

/** The orders table's index of authorizations that may still expire (lib/tables.ts), which the sweep queries. */
export const expiryIndexName = 'authorization-expiry';

/** How often the expiry sweep runs. */
export const expirySweepSchedule = Duration.hours(6);
export const expirySweepFunction = { id: 'OrderExpirySweepFunction', entry: 'functions/orders/handlers/expiry-sweep.ts' } as const;

/** The commands' Lambdas: construct ids (their prebuilt bundles' folders) and handler modules. */
export const commandFunctions = {
  commands: orderCommandsFunction,
  events: orderCommandEventsFunction,
  publisher: orderCommandPublisherFunction,
  expirySweep: expirySweepFunction,
} as const;

export type OrderCommandsProps = {
  readonly settings?: OrderManagementSettings;
  readonly commands?: OrderCommandsSettings;
  readonly api: RestApi;
  readonly ordersTable: Table;
  readonly ledgerTable: Table;
  readonly bus: IEventBus;
  readonly orderManagementCredentials: ISecret;
  readonly tracing: boolean;
  /** The namespace the instance's functions write their metrics to (the alarms read it). */
  readonly metricsNamespace: string;
  /** The construct's Parameters and Secrets extension layer. */
  readonly secretsExtension: ParamsAndSecretsLayerVersion;
  /** Environment every function of the instance gets (the metrics namespace). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * The API has a resource policy that allows everyone (the Klarna IP allowlist): the command
   * routes are then denied to principals of other accounts, so only IAM identities of this
   * account that were granted `execute-api:Invoke` reach them.
   */
  readonly apiHasOpenResourcePolicy: boolean;
  readonly alarm: (id: string, spec: AlarmSpec) => Alarm;
};

/**
 * A command may wait for Klarna up to ORDERS_WORK_MS (8 s) and, for a repeat, for the first
 * attempt's answer: 15 s stays well below API Gateway's 29 s.
 */
export const commandFunctionTimeout = Duration.seconds(15);

/** The resource of a route in an execute-api ARN: `{param}` becomes `*`. */
const resourceOf = (path: string): string => path.replace(/\{[^}]+\}/g, '*');

export class OrderCommands extends Construct {
  readonly commandFunction: KlarnaFunction;
  readonly eventFunction: KlarnaFunction;
  readonly publisher: KlarnaFunction;
  readonly expirySweep: KlarnaFunction;
  /** Command events Klarna could not take within the retries, and events that could not be delivered. */
  readonly failedCommands: Queue;
  /** Ledger stream batches that could not be published for a day. */
  readonly failedEvents: Queue;
  /** Command events EventBridge refused for good (the publisher's REFUSED_EVENTS_QUEUE_URL). */
  readonly refusedEvents: Queue;
  private readonly api: RestApi;
  private readonly bus: IEventBus;

  constructor(scope: Construct, id: string, props: OrderCommandsProps) {
    super(scope, id);
    const { api, ordersTable, ledgerTable, bus, alarm } = props;
    this.api = api;
    this.bus = bus;
    const environment = {
      ...props.environment,
      [ordersTableDef.envVar]: ordersTable.tableName,
      [orderLedgerTable.envVar]: ledgerTable.tableName,
      EVENT_BUS_NAME: bus.eventBusName,
      [orderManagementSecretEnvVar]: props.orderManagementCredentials.secretArn,
      ...orderManagementEnvironment(props.settings),
    };
    const commandFunction = (fnId: string, entry: string): KlarnaFunction => {
      const fn = new KlarnaFunction(this, fnId, {
        entry,
        environment,
        timeout: commandFunctionTimeout,
        tracing: props.tracing,
        secretArns: [props.orderManagementCredentials.secretArn],
        secretsExtension: props.secretsExtension,
      });
      // Exactly what the code sends: the order is only read; the ledger gets conditional writes,
      // transactions (made of Put and Update) and queries of one order's items.
      fn.allow(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [ordersTable.tableArn] }));
      fn.allow(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'], resources: [ledgerTable.tableArn] }));
      bus.grantPutEventsTo(fn.role);
      return fn;
    };

    // ---- HTTP: IAM-authorized routes -------------------------------------------------------
    this.commandFunction = commandFunction(orderCommandsFunction.id, orderCommandsFunction.entry);
    const integration = new LambdaIntegration(this.commandFunction.function, { proxy: true, allowTestInvoke: false });
    for (const route of commandRoutes) {
      const method = api.root.resourceForPath(route.path).addMethod(route.method, integration, { authorizationType: AuthorizationType.IAM });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason: "The shop's backend calls the command routes with SigV4 (IAM authorization, granted by grantCommands); no user pool is involved.",
      });
    }
    if (props.apiHasOpenResourcePolicy) {
      api.addToResourcePolicy(
        new PolicyStatement({
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ['execute-api:Invoke'],
          resources: commandRoutes.map((route) => `execute-api:/*/${route.method}${resourceOf(route.path)}`),
          conditions: { StringNotEquals: { 'aws:PrincipalAccount': Stack.of(this).account } },
        }),
      );
    }

    // ---- EventBridge: the same commands as events ------------------------------------------
    this.failedCommands = deadLetterQueue(
      this,
      'FailedCommandsQueue',
      'This queue is itself the dead-letter destination of the command events; it is alarmed and read by an operator, not redriven automatically.',
    );
    this.eventFunction = commandFunction(orderCommandEventsFunction.id, orderCommandEventsFunction.entry);
    this.eventFunction.function.configureAsyncInvoke({
      // Klarna unreachable within the retries: the event is retried twice (same command id, same key), then kept here.
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.failedCommands),
    });
    new Rule(this, 'CommandEventsRule', {
      eventBus: bus,
      description: 'The shop\'s commands on orders (Capture Order, Refund Order, Cancel Order, Release Authorization, Extend Authorization).',
      eventPattern: { detailType: Object.keys(commandDetailTypes), source: Match.anythingBut('klarna-serverless') },
      targets: [new LambdaFunction(this.eventFunction.function, { deadLetterQueue: this.failedCommands, retryAttempts: 4, maxEventAge: Duration.hours(6) })],
    });

    // ---- Publisher: ledger stream → bus ------------------------------------------------------
    ({ publisher: this.publisher, failedEvents: this.failedEvents, refusedEvents: this.refusedEvents } = addStreamPublisher(this, {
      fn: orderCommandPublisherFunction,
      table: ledgerTable,
      tableLabel: 'ledger',
      eventKind: 'command',
      failedQueueId: 'CommandEventsFailedQueue',
      refusedQueueId: 'CommandEventsRefusedQueue',
      bus,
      environment: props.environment,
      tracing: props.tracing,
    }));

    // ---- Expiry sweep --------------------------------------------------------------------------
    const warningDays = props.commands?.expiryWarningDays ?? 3;
    if (!(Number.isInteger(warningDays) && warningDays >= 1 && warningDays <= 30)) throw new Error(`expiryWarningDays must be an integer from 1 to 30; got ${String(warningDays)}`);
    this.expirySweep = new KlarnaFunction(this, expirySweepFunction.id, {
      entry: expirySweepFunction.entry,
      environment: { ...environment, ORDERS_EXPIRY_WARNING_DAYS: String(warningDays), ORDERS_AUTO_EXTEND: String(props.commands?.autoExtend ?? false) },
      timeout: Duration.minutes(5),
      tracing: props.tracing,
      secretArns: [props.orderManagementCredentials.secretArn],
      secretsExtension: props.secretsExtension,
    });
    // The orders due: a Query of the orders table's expiry index; each order read, then moved in
    // the index or taken out (UpdateItem of expiry_bucket / expiry_due); Scan only for the one-off
    // backfill of orders acknowledged before the index existed.
    this.expirySweep.allow(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'], resources: [ordersTable.tableArn] }));
    this.expirySweep.allow(new PolicyStatement({ actions: ['dynamodb:Query'], resources: [`${ordersTable.tableArn}/index/${expiryIndexName}`] }));
    this.expirySweep.allow(new PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'], resources: [ledgerTable.tableArn] }));
    bus.grantPutEventsTo(this.expirySweep.role);
    new Rule(this, 'ExpirySweepSchedule', {
      description: 'Authorizations about to expire: warn (Authorization Expiring) or extend; expired ones with a balance are alarmed.',
      schedule: Schedule.rate(expirySweepSchedule),
      targets: [new LambdaFunction(this.expirySweep.function, { retryAttempts: 0 })],
    });

    // ---- Alarms ------------------------------------------------------------------------------
    alarm('AuthorizationExpiredWithBalanceAlarm', {
      metric: new Metric({ namespace: props.metricsNamespace, metricName: EXPIRED_METRIC, statistic: Stats.SUM, period: expirySweepSchedule }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: 'An acknowledged order expired with authorization left (docs/operations.md: Authorization expired with a balance).',
    });
    const fiveMinutes = Duration.minutes(5);
    alarm('OrderCommandFailedAlarm', {
      metric: new Metric({ namespace: props.metricsNamespace, metricName: COMMAND_FAILED_METRIC, statistic: Stats.SUM, period: fiveMinutes }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: 'A command could not reach Klarna within its retries (docs/operations.md: Order command failed).',
    });
    deadLetterAlarm(alarm, 'FailedCommandsQueueAlarm', this.failedCommands, 'Command events were given up after their retries: they are in FailedCommandsQueue (docs/operations.md).');
    deadLetterAlarm(alarm, 'CommandEventsFailedAlarm', this.failedEvents, 'Events of booked commands could not be published for a day: their batches are in CommandEventsFailedQueue.');
    deadLetterAlarm(
      alarm,
      'CommandEventsRefusedAlarm',
      this.refusedEvents,
      'EventBridge refused a command event for good: it is in CommandEventsRefusedQueue (docs/operations.md: CommandEventsRefusedAlarm).',
    );
    for (const fn of [this.commandFunction, this.eventFunction, this.publisher, this.expirySweep]) {
      alarm(`${fn.node.id}ErrorsAlarm`, {
        metric: fn.function.metricErrors({ statistic: Stats.SUM, period: fiveMinutes }),
        threshold: 1,
        comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: `${fn.node.id} failed (unhandled error or timeout).`,
      });
    }
  }

  /** Lets `grantee` call the command routes (SigV4) and put command events on the order bus. */
  grantCommands(grantee: IGrantable): Grant {
    const stage = this.api.deploymentStage.stageName;
    this.bus.grantPutEventsTo(grantee);
    return Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: commandRoutes.map((route) => this.api.arnForExecuteApi(route.method, resourceOf(route.path), stage)),
    });
  }
}
