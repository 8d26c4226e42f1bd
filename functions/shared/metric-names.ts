/**
 * The business metrics' names, dimensions and the values a dimension may take: plain constants,
 * no imports, so the CDK construct (alarms, dashboard) reads them without loading Powertools.
 * functions/shared/metrics.ts writes them.
 */
/** The default namespace; each deployed instance writes to its own (METRICS_NAMESPACE_ENV). */
export const METRICS_NAMESPACE = 'KlarnaServerless';
/**
 * Powertools' own setting, set by the construct on every function: the namespace of this
 * instance, so two instances in one account and region never count into each other's alarms.
 */
export const METRICS_NAMESPACE_ENV = 'POWERTOOLS_METRICS_NAMESPACE';
/** The namespace the functions of this instance write to. */
export const metricsNamespace = (): string => process.env[METRICS_NAMESPACE_ENV] || METRICS_NAMESPACE;
/** Powertools adds `service` to every dimension set; fixed so the alarms can name it. */
export const METRICS_SERVICE = 'klarna-serverless';

export const metricNames = {
  /** One per KCO callback answered. */
  callbackDecision: 'CallbackDecision',
  /** One per OSM request, by outcome. */
  osmRequest: 'OsmRequest',
  /** One per order lifecycle step (push, acknowledge, capture, …) once the order module counts. */
  orderStep: 'OrderStep',
  /** One per Order Management call refused before it was sent: the credentials are empty. */
  credentialsMissing: 'OrderManagementCredentialsMissing',
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

/**
 * The order commands' dimensions (metrics OrderCommands and OrderCommandsFailed, whose names are
 * in functions/orders/command-names.ts): the command (`unknown` for an event that names none) and
 * how it ended. Unlike the metrics above they carry no `service` dimension: the construct's
 * alarms and the docs read them so since they were added.
 */
export const orderCommandNames = ['capture', 'refund', 'cancel', 'release', 'extend', 'shipping_info', 'unknown'] as const;
export const orderCommandOutcomes = ['booked', 'replayed', 'refused', 'failed', 'invalid'] as const;
export type OrderCommandOutcome = (typeof orderCommandOutcomes)[number];

/** Kinds of rules scope, the one dimension of RulesRejected (a scope itself is unbounded). */
export const rulesScopeKinds = ['default', 'order', 'other'] as const;
export type RulesScopeKind = (typeof rulesScopeKinds)[number];

export type CallbackDecision = (typeof callbackDecisions)[number];
export type OsmOutcome = (typeof osmOutcomes)[number];
export type OrderStep = (typeof orderSteps)[number];
export type OrderOutcome = (typeof orderOutcomes)[number];

