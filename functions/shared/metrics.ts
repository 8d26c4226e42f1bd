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
import { COMMAND_FAILED_METRIC, COMMAND_METRIC, EXPIRED_METRIC } from '../orders/command-names.js';
import {
  METRICS_SERVICE,
  callbackDecisions,
  callbackNames,
  failClosedReasons,
  metricNames,
  metricsNamespace,
  orderCommandNames,
  orderCommandOutcomes,
  orderOutcomes,
  orderSteps,
  osmOutcomes,
  rulesScopeKinds,
  type OrderCommandOutcome,
  type OrderOutcome,
  type OrderStep,
  type OsmOutcome,
  type RulesScopeKind,
} from './metric-names.js';

export * from './metric-names.js';

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
const commandNameSet: ReadonlySet<string> = new Set(orderCommandNames);
const commandOutcomeSet: ReadonlySet<string> = new Set(orderCommandOutcomes);

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

const metrics = new Metrics({ namespace: metricsNamespace(), serviceName: METRICS_SERVICE, logger: metricsLogger });
// The order commands' metrics were first written without `service`, and their alarms read them
// so: the same namespace from an instance without default dimensions keeps them as they were.
const unservicedMetrics = new Metrics({ namespace: metricsNamespace(), serviceName: METRICS_SERVICE, logger: metricsLogger });
unservicedMetrics.clearDefaultDimensions();

/** One count (or `value` of them), written at once under each dimension set given (one EMF line). */
const count = (name: string, dimensionSets: readonly Record<string, string>[], value = 1, into: Metrics = metrics): void => {
  for (const dimensions of dimensionSets) into.addDimensions(dimensions);
  into.addMetric(name, MetricUnit.Count, value);
  into.publishStoredMetrics();
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

/** An Order Management call that could not be made: the credentials are empty (alarmed on its own). */
export const countCredentialsMissing = (): void => {
  count(metricNames.credentialsMissing, [{}]);
};

/**
 * Rules writes of one scope kind that the callbacks cannot use, counted once per stream batch;
 * 0 for a batch whose writes of that kind were all accepted.
 */
export const countRulesRejected = (scopeKind: RulesScopeKind, rejected: number): void => {
  count(metricNames.rulesRejected, [{ scope_kind: bounded(scopeKindSet, scopeKind) }], rejected);
};

/**
 * One order command (HTTP or event) and how it ended: OrderCommands{command, outcome}, and
 * OrderCommandsFailed (alarmed; 0 unless Klarna could not be reached within the retries, so the
 * alarm always has data) without dimensions. No `service` dimension on either (see above).
 */
export const countOrderCommand = (command: string, outcome: OrderCommandOutcome): void => {
  const dims = { command: bounded(commandNameSet, command), outcome: bounded(commandOutcomeSet, outcome) };
  count(COMMAND_METRIC, [dims], 1, unservicedMetrics);
  count(COMMAND_FAILED_METRIC, [{}], outcome === 'failed' ? 1 : 0, unservicedMetrics);
};

/** Acknowledged orders one expiry sweep found expired with authorization left (alarmed); no dimensions. */
export const countExpiredWithBalance = (expired: number): void => {
  count(EXPIRED_METRIC, [{}], expired, unservicedMetrics);
};
