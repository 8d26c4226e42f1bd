/**
 * The functions' business metrics, in one place: names, dimensions and the values a dimension
 * may take are defined here and nowhere else (the stack's alarms and dashboard import them).
 * Powertools Metrics writes each count as one CloudWatch embedded-metric-format line to stdout:
 * CloudWatch Logs turns it into a metric, so counting costs no call and no latency.
 *
 * Every dimension value comes from a fixed list (anything else counts as `other`), so the number
 * of metrics stays bounded whatever a caller sends.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'KlarnaServerless';
/** Powertools adds `service` to every dimension set; fixed so the alarms can name it. */
export const METRICS_SERVICE = 'klarna-serverless';

export const metricNames = {
  /** One per KCO callback answered. */
  callbackDecision: 'CallbackDecision',
  /** One per OSM request, by outcome. */
  osmRequest: 'OsmRequest',
  /** One per order lifecycle step (push, acknowledge, capture, …) once the order module counts. */
  orderStep: 'OrderStep',
  /**
   * One per write to the rules table the callbacks cannot use (an invalid document, a deleted
   * `default`), by scope kind; which scope is in the checker's log line `rules rejected`.
   */
  rulesRejected: 'RulesRejected',
} as const;

export const callbackNames = ['address_update', 'country_change', 'shipping_option_update', 'validation'] as const;
export const callbackDecisions = ['update', 'approve', 'deny', 'refuse', 'reject', 'unauthorized', 'error'] as const;
/** Decisions where we could not decide and failed closed; each is alarmed on its own. */
export const failClosedReasons = ['rules_missing', 'rules_invalid', 'rules_unavailable', 'internal_error', 'tokens_unavailable'] as const;
/**
 * How an OSM request ended: served from the cache (`hit`, `stale`), fetched from Klarna (`miss`),
 * Klarna failed (`error`, `impression_failed`), or refused before Klarna was asked.
 */
export const osmOutcomes = [
  'hit',
  'miss',
  'stale',
  'error',
  'invalid',
  'not_configured',
  'impression_registered',
  'impression_refused',
  'impression_failed',
  'bot',
  'fault',
] as const;
export const orderSteps = ['push', 'acknowledge', 'capture', 'cancel', 'refund', 'notification', 'sweep'] as const;
export const orderOutcomes = ['ok', 'retry', 'error', 'skipped'] as const;

/** Kinds of rules scope, the one dimension of RulesRejected (a scope itself is unbounded). */
export const rulesScopeKinds = ['default', 'order', 'other'] as const;
export type RulesScopeKind = (typeof rulesScopeKinds)[number];

export type CallbackDecision = (typeof callbackDecisions)[number];
export type OsmOutcome = (typeof osmOutcomes)[number];
export type OrderStep = (typeof orderSteps)[number];
export type OrderOutcome = (typeof orderOutcomes)[number];

/** A decision without a reason (an approval, an update) is counted with reason `none`. */
export const NO_REASON = 'none';
const OTHER = 'other';

const bounded = (allowed: ReadonlySet<string>, value: string | undefined, fallback = OTHER): string =>
  value !== undefined && allowed.has(value) ? value : fallback;
const callbackSet: ReadonlySet<string> = new Set(callbackNames);
const decisionSet: ReadonlySet<string> = new Set(callbackDecisions);
const osmSet: ReadonlySet<string> = new Set(osmOutcomes);
const stepSet: ReadonlySet<string> = new Set(orderSteps);
const orderOutcomeSet: ReadonlySet<string> = new Set(orderOutcomes);
const scopeKindSet: ReadonlySet<string> = new Set(rulesScopeKinds);

// Powertools warns whenever one key stands in several dimension sets of the same line. Ours do on
// purpose (the same value counted under callback × decision × reason, reason alone and decision
// alone), so that one warning would be a log line per callback saying nothing: it is dropped.
// Every other warning and error of the library still reaches the log.
const SAME_KEY_IN_SEVERAL_SETS = 'EMF key ';
const metricsLogger = {
  debug: console.debug,
  info: console.info,
  warn: (...content: unknown[]): void => {
    if (typeof content[0] === 'string' && content[0].startsWith(SAME_KEY_IN_SEVERAL_SETS)) return;
    console.warn(...content);
  },
  error: console.error,
};

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE, logger: metricsLogger });

/** One count (or `value` of them), written at once under each dimension set given (one EMF line). */
const count = (name: string, dimensionSets: readonly Record<string, string>[], value = 1): void => {
  for (const dimensions of dimensionSets) metrics.addDimensions(dimensions);
  metrics.addMetric(name, MetricUnit.Count, value);
  metrics.publishStoredMetrics();
};

/**
 * The counter of KCO callback answers, given the domain's reason codes (passed in, so that this
 * module, which the OSM function bundles too, does not import the rules schema). Dimension sets:
 * callback × decision × reason (the dashboard), reason alone (the fail-closed alarms) and
 * decision alone (the denial rate).
 */
export const callbackDecisionCounter = (reasonCodes: readonly string[]) => {
  const knownReasons: ReadonlySet<string> = new Set<string>([...reasonCodes, ...failClosedReasons, NO_REASON]);
  return (callback: string, decision: string, reason: string | undefined): void => {
    const dims = {
      callback: bounded(callbackSet, callback),
      decision: bounded(decisionSet, decision),
      reason: bounded(knownReasons, reason ?? NO_REASON),
    };
    count(metricNames.callbackDecision, [dims, { reason: dims.reason }, { decision: dims.decision }]);
  };
};

/** One OSM request's outcome (see osmOutcomes). */
export const countOsmOutcome = (outcome: OsmOutcome): void => {
  count(metricNames.osmRequest, [{ outcome: bounded(osmSet, outcome) }]);
};

/** One step of an order's life and how it ended. */
export const countOrderStep = (step: OrderStep, outcome: OrderOutcome): void => {
  count(metricNames.orderStep, [{ step: bounded(stepSet, step), outcome: bounded(orderOutcomeSet, outcome) }]);
};

/**
 * Rules writes of one scope kind that the callbacks cannot use, counted once per stream batch;
 * 0 for a batch whose writes of that kind were all accepted.
 */
export const countRulesRejected = (scopeKind: RulesScopeKind, rejected: number): void => {
  count(metricNames.rulesRejected, [{ scope_kind: bounded(scopeKindSet, scopeKind) }], rejected);
};
