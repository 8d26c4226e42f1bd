/**
 * Rules checked on write: the rules table's stream feeds a function that parses every new image
 * with the callbacks' own parser, publishes `Rules Changed` / `Rules Rejected` on the bus it is
 * given, counts rejections (metric RulesRejected by scope kind; the scope in the log) and keeps
 * each replaced version in the history table. Alarms: a rejection, at once, per kind of scope;
 * the checker failing, lagging or giving up on records.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, GraphWidget, LogQueryWidget, Metric, Stats, TreatMissingData, type Alarm, type Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, METRICS_SERVICE, metricNames, rulesScopeKinds, type RulesScopeKind } from '../functions/shared/metric-names.js';
import { deadLetterAlarm, deadLetterQueue } from './dead-letter-queue.js';
import { KlarnaFunction } from './klarna-function.js';
import type { AlarmFactory } from './monitoring.js';

export const rulesCheckerFunction = { id: 'RulesCheckerFunction', entry: 'functions/rules/handlers/check-rules.ts' } as const;

export const DEFAULT_RULES_HISTORY_DAYS = 90;

export type RulesCheckerProps = {
  /** The rules table; it must have a stream of new and old images. */
  readonly rulesTable: ITable;
  /** Where replaced versions are kept (lib/tables.ts `rulesHistoryTable`). */
  readonly historyTable: ITable;
  /** The bus `Rules Changed` / `Rules Rejected` go to (the order events' bus in KlarnaStack). */
  readonly eventBus: IEventBus;
  /** The stack's alarm factory (actions on the alarm topic). */
  readonly alarm: AlarmFactory;
  /**
   * How long a replaced version is kept (TTL).
   * @default 90 days
   */
  readonly historyRetentionDays?: number;
  /**
   * Records per invocation and how long Lambda may wait to fill a batch: a flood of order scopes
   * written in bulk costs one invocation per batch.
   * @default 100 records, 2 seconds
   */
  readonly batchSize?: number;
  readonly maxBatchingWindow?: Duration;
  /** @default false */
  readonly tracing?: boolean;
  /**
   * The namespace the instance's functions write their metrics to (the alarms read it there).
   * @default 'KlarnaServerless'
   */
  readonly metricsNamespace?: string;
  /** Environment every function of the instance gets (the metrics namespace). */
  readonly environment?: Readonly<Record<string, string>>;
};

const scopeKindLabel: Record<RulesScopeKind, string> = {
  default: 'DefaultScope',
  order: 'OrderScope',
  other: 'OtherItem',
};

const alarmDescription: Record<RulesScopeKind, string> = {
  default:
    'The default rules were written invalid or deleted: every KCO callback fails closed (rules_invalid / rules_missing) until they are fixed. Which field: the Rules Rejected event or the dashboard table "Rejected rules"; `npm run rules -- rollback default` (docs/operations.md).',
  order:
    "An order's rules (order#<id>) were written invalid: that order's callbacks fail closed. Which scope and field: the Rules Rejected event or the dashboard table \"Rejected rules\" (docs/operations.md).",
  other:
    'An item was written to the rules table under a key no callback reads (a typo of "default" or "order#<id>"). Which key: the dashboard table "Rejected rules" (docs/operations.md).',
};

export const rulesRejectedMetric = (kind: RulesScopeKind, namespace = METRICS_NAMESPACE, period = Duration.minutes(1)): Metric =>
  new Metric({
    namespace,
    metricName: metricNames.rulesRejected,
    dimensionsMap: { service: METRICS_SERVICE, scope_kind: kind },
    statistic: Stats.SUM,
    period,
  });

export class RulesChecker extends Construct {
  readonly checker: KlarnaFunction;
  /** Batches the checker gave up on (a day of failures): their shard and sequence range. */
  readonly failedChecks: Queue;
  readonly rejectedAlarms: ReadonlyMap<RulesScopeKind, Alarm>;
  private readonly metricsNamespace: string;

  constructor(scope: Construct, id: string, props: RulesCheckerProps) {
    super(scope, id);
    const retentionDays = props.historyRetentionDays ?? DEFAULT_RULES_HISTORY_DAYS;
    if (!(Number.isInteger(retentionDays) && retentionDays >= 1 && retentionDays <= 3650)) {
      throw new Error(`historyRetentionDays must be an integer from 1 to 3650; got ${retentionDays}`);
    }
    const { historyTable, alarm } = props;
    this.metricsNamespace = props.metricsNamespace ?? METRICS_NAMESPACE;

    // The id names the prebuilt bundle too (dist/bundles/<id>, bin/build-bundles.ts).
    this.checker = new KlarnaFunction(this, rulesCheckerFunction.id, {
      entry: rulesCheckerFunction.entry,
      environment: {
        ...props.environment,
        RULES_HISTORY_TABLE: historyTable.tableName,
        RULES_HISTORY_DAYS: String(retentionDays),
        EVENT_BUS_NAME: props.eventBus.eventBusName,
      },
      timeout: Duration.seconds(30),
      memorySize: 512,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
    });
    props.eventBus.grantPutEventsTo(this.checker.role);
    // Exactly what functions/rules/history-store.ts sends: heads in one BatchGetItem, a put per
    // replaced version, a conditional update of the head. Never a delete: history is not rewritten.
    this.checker.allow(
      new PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [historyTable.tableArn] }),
    );

    this.failedChecks = deadLetterQueue(
      this,
      'FailedQueue',
      'This queue is itself the dead-letter destination of the rules stream trigger; it is alarmed, not redriven.',
    );
    this.checker.function.addEventSource(
      new DynamoEventSource(props.rulesTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 100,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(2),
        // One failed record stops its shard until it is checked: versions stay in order.
        reportBatchItemFailures: true,
        retryAttempts: 10_000,
        maxRecordAge: Duration.days(1),
        onFailure: new SqsDlq(this.failedChecks),
      }),
    );
    Validations.of(this.checker.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'dynamodb:ListStreams has no resource-level permission; the stream read itself (DescribeStream, GetRecords, GetShardIterator) is limited to the rules table stream.',
    });

    // ---- Alarms -----------------------------------------------------------------------------
    const fiveMinutes = Duration.minutes(5);
    this.rejectedAlarms = new Map(
      rulesScopeKinds.map((kind) => [
        kind,
        alarm(`RulesRejected${scopeKindLabel[kind]}Alarm`, {
          metric: rulesRejectedMetric(kind, this.metricsNamespace),
          threshold: 1,
          comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description: alarmDescription[kind],
          // The minute it is written. No data keeps the state: the alarm stays on until the checker
          // counts a minute of accepted writes of this kind (0 rejections), not five quiet minutes.
          treatMissingData: TreatMissingData.IGNORE,
        }),
      ]),
    );
    deadLetterAlarm(
      alarm,
      'RulesCheckFailedAlarm',
      this.failedChecks,
      "Rules writes could not be checked for a day: their batches are in the rules checker's FailedQueue (docs/operations.md).",
    );
    alarm('RulesCheckIteratorAgeAlarm', {
      metric: this.checker.function.metric('IteratorAge', { statistic: Stats.MAXIMUM, period: fiveMinutes }),
      threshold: 60_000,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: 'Rules writes are checked more than a minute after they were made (the checker is failing or stuck).',
    });
    alarm(`${rulesCheckerFunction.id}ErrorsAlarm`, {
      metric: this.checker.function.metricErrors({ statistic: Stats.SUM, period: fiveMinutes }),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description: `${rulesCheckerFunction.id} failed (unhandled error or timeout).`,
    });
  }

  /** The rejections by kind of scope, and which scopes and fields, from the checker's log. */
  addDashboardWidgets(dashboard: Dashboard): void {
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Rules writes rejected, by kind of scope (per minute)',
        left: rulesScopeKinds.map((kind) => rulesRejectedMetric(kind, this.metricsNamespace).with({ label: kind })),
        width: 8,
      }),
      new LogQueryWidget({
        title: 'Rejected rules: scope, version and field (newest first)',
        logGroupNames: [this.checker.logGroup.logGroupName],
        queryLines: [
          'fields @timestamp, scope, version, rejection, path, problem',
          'filter message = "rules rejected"',
          'sort @timestamp desc',
          'limit 50',
        ],
        width: 16,
      }),
    );
  }
}
