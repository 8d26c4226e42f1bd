/**
 * The business alarms and the dashboard, built from the metric names and dimensions defined in
 * functions/shared/metrics.ts (the functions write them as embedded metric format log lines).
 */
import { Duration } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  type TreatMissingData,
  type Alarm,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_SERVICE, failClosedReasons, metricNames, type CallbackDecision, type OsmOutcome } from '../functions/shared/metric-names.js';
import type { Construct } from 'constructs';
import type { KlarnaFunction } from './klarna-function.js';

export type AlarmSpec = {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
  readonly description: string;
  /** Breaching periods out of the last `evaluationPeriods` (default: 1 of 1, or of 3 when more than 1). */
  readonly datapoints?: 1 | 2 | 3;
  readonly evaluationPeriods?: number;
  /** Default NOT_BREACHING: quiet periods (no callbacks at night) are not failures. */
  readonly treatMissingData?: TreatMissingData;
};
export type AlarmFactory = (id: string, spec: AlarmSpec) => Alarm;

/** Below this many decisions in five minutes the denial rate is not judged (two denials at night are not a trend). */
export const DENIAL_RATE_MIN_DECISIONS = 20;

const oneMinute = Duration.minutes(1);
const fiveMinutes = Duration.minutes(5);

const businessMetric = (namespace: string, metricName: string, dimensions: Record<string, string>, period: Duration): Metric =>
  new Metric({
    namespace,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
    statistic: Stats.SUM,
    period,
  });

const decisions = (namespace: string, decision: CallbackDecision): Metric =>
  businessMetric(namespace, metricNames.callbackDecision, { decision }, fiveMinutes);
const osmMetric = (namespace: string, outcome: OsmOutcome): Metric => businessMetric(namespace, metricNames.osmRequest, { outcome }, fiveMinutes);

const pascal = (snake: string): string =>
  snake
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

/**
 * One alarm per fail-closed reason (any one in a minute: every checkout may be failing), and one
 * on the share of decisions that deny or refuse.
 */
export const addDecisionAlarms = (
  alarm: AlarmFactory,
  { denialRateShare, namespace }: { denialRateShare: number; namespace: string },
): Alarm[] => [
  ...failClosedReasons.map((reason) =>
    alarm(`FailClosed${pascal(reason)}Alarm`, {
      metric: businessMetric(namespace, metricNames.callbackDecision, { reason }, oneMinute),
      threshold: 1,
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Fires in the minute it happens; back to OK only after five quiet minutes (no flapping).
      evaluationPeriods: 5,
      description: `A KCO callback failed closed with reason ${reason}: checkouts are refused until it is fixed (docs/operations.md).`,
    }),
  ),
  alarm('DenialRateAlarm', {
    metric: new MathExpression({
      expression: `IF(a + u + d + r >= ${DENIAL_RATE_MIN_DECISIONS}, (d + r) / (a + u + d + r), 0)`,
      usingMetrics: {
        a: new MathExpression({ expression: 'FILL(approve, 0)', usingMetrics: { approve: decisions(namespace, 'approve') } }),
        u: new MathExpression({ expression: 'FILL(updated, 0)', usingMetrics: { updated: decisions(namespace, 'update') } }),
        d: new MathExpression({ expression: 'FILL(deny, 0)', usingMetrics: { deny: decisions(namespace, 'deny') } }),
        r: new MathExpression({ expression: 'FILL(refuse, 0)', usingMetrics: { refuse: decisions(namespace, 'refuse') } }),
      },
      label: 'share of callback decisions that deny or refuse',
      period: fiveMinutes,
    }),
    threshold: denialRateShare,
    comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
    description: `More than ${Math.round(denialRateShare * 100)}% of at least ${DENIAL_RATE_MIN_DECISIONS} KCO callback decisions in 5 minutes denied or refused (docs/operations.md).`,
  }),
];

/** One dashboard: decisions by reason, p50/p99 per function, the OSM hit ratio, Klarna's errors, every alarm. */
export const addDashboard = (
  scope: Construct,
  {
    functions,
    alarms,
    namespace,
    osm: withOsm = true,
  }: { functions: ReadonlyMap<{ readonly id: string }, KlarnaFunction>; alarms: readonly Alarm[]; namespace: string; osm?: boolean },
): Dashboard => {
  const osm = (outcome: OsmOutcome): Metric => osmMetric(namespace, outcome);
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(6) });
  const durations = (statistic: string): IMetric[] =>
    [...functions].map(([def, fn]) => fn.function.metricDuration({ statistic, period: fiveMinutes, label: `${def.id} ${statistic}` }));
  const searchDecisions = new MathExpression({
    expression: `SEARCH('{"${namespace}",service,callback,decision,reason} MetricName="${metricNames.callbackDecision}"', 'Sum', 300)`,
    usingMetrics: {},
    label: '',
    period: fiveMinutes,
  });
  dashboard.addWidgets(
    new GraphWidget({ title: 'KCO callback decisions by callback, decision and reason (per 5 minutes)', left: [searchDecisions], stacked: true, width: 24 }),
  );
  dashboard.addWidgets(
    new GraphWidget({ title: 'Duration p50 per function (ms)', left: durations('p50'), width: 12 }),
    new GraphWidget({ title: 'Duration p99 per function (ms)', left: durations('p99'), width: 12 }),
  );
  // The OSM widgets only where OSM is part of the instance.
  if (withOsm) {
    dashboard.addWidgets(
      new GraphWidget({
        title: 'OSM cache hit ratio (hit ÷ hit + miss + stale)',
        left: [
          new MathExpression({
            expression: '100 * FILL(h, 0) / (FILL(h, 0) + FILL(m, 0) + FILL(s, 0))',
            usingMetrics: { h: osm('hit'), m: osm('miss'), s: osm('stale') },
            label: 'hit ratio %',
            period: fiveMinutes,
          }),
        ],
        leftYAxis: { min: 0, max: 100 },
        width: 12,
      }),
      new GraphWidget({
        title: "Klarna's errors (OSM requests Klarna failed, impressions it refused, stale copies served)",
        left: [osm('error'), osm('impression_failed'), osm('stale')],
        width: 12,
      }),
    );
  }
  dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: [...alarms], width: 24 }));
  return dashboard;
};
