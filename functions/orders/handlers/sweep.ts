/**
 * The scheduled sweeper (EventBridge Scheduler / rule, every 15 minutes): orders recorded but not
 * acknowledged for ORDERS_SWEEP_AFTER_MINUTES (default 30) get another pass. Klarna's own pushes
 * retry too; this covers the gaps (pushes that stopped after 48 hours, a function that died, a
 * Klarna outage). The count still waiting is published as the CloudWatch metric
 * `OrdersAwaitingAcknowledgement` in the instance's namespace (embedded metric format), which is alarmed.
 */
import type { Context } from 'aws-lambda';
import { intEnv } from '../../shared/config.js';
import { logger } from '../../shared/log.js';
import { countOrderStep, metricsNamespace } from '../../shared/metrics.js';
import { sweep } from '../sweep.js';
import { defaultDeps } from './deps.js';

export const AWAITING_METRIC = 'OrdersAwaitingAcknowledgement';
/** Orders the sweeper gave up on in a run (set aside for review as `sweep_gave_up`); alarmed. */
export const GAVE_UP_METRIC = 'OrdersSweepGaveUp';

/** One CloudWatch embedded-metric-format line: CloudWatch turns it into the metric, no API call. */
export const awaitingMetricLine = (count: number, now: number): string =>
  JSON.stringify({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: metricsNamespace(), Dimensions: [[]], Metrics: [{ Name: AWAITING_METRIC, Unit: 'Count' }] }] },
    [AWAITING_METRIC]: count,
    step: 'sweep_metric',
  });

export const gaveUpMetricLine = (count: number, now: number): string =>
  JSON.stringify({
    _aws: { Timestamp: now, CloudWatchMetrics: [{ Namespace: metricsNamespace(), Dimensions: [[]], Metrics: [{ Name: GAVE_UP_METRIC, Unit: 'Count' }] }] },
    [GAVE_UP_METRIC]: count,
    step: 'sweep_gave_up_metric',
  });

let deps: ReturnType<typeof defaultDeps> | undefined;

export const handler = async (_event: unknown, context: Context): Promise<void> => {
  // Every line of the invocation carries this function's name and request id.
  logger.addContext(context);
  deps ??= defaultDeps();
  const now = deps.now();
  const result = await sweep(deps, {
    afterMs: intEnv('ORDERS_SWEEP_AFTER_MINUTES', 30, { min: 1, max: 10_080 }) * 60_000,
    // How many orders one run tries (the least tried first); all of them are counted.
    limit: intEnv('ORDERS_SWEEP_LIMIT', 50, { min: 1, max: 1000 }),
    deadline: now + context.getRemainingTimeInMillis() - 2000,
    perOrderMs: intEnv('ORDERS_WORK_MS', 8000, { min: 100, max: 60_000 }),
    maxTries: intEnv('ORDERS_SWEEP_MAX_TRIES', 16, { min: 1, max: 1000 }),
    maxAgeMs: intEnv('ORDERS_SWEEP_MAX_AGE_HOURS', 48, { min: 1, max: 24 * 90 }) * 3_600_000,
  });
  logger.info('orders swept', { step: 'sweep', ...result });
  // One OrderStep{step=sweep} per order looked at: ok when it left `recorded`, retry when not.
  for (let i = 0; i < result.acknowledged + result.needsReview + result.gaveUp; i += 1) countOrderStep('sweep', 'ok');
  for (let i = 0; i < result.stillWaiting; i += 1) countOrderStep('sweep', 'retry');
  process.stdout.write(`${awaitingMetricLine(result.stillWaiting, now)}\n${gaveUpMetricLine(result.gaveUp, now)}\n`);
};
