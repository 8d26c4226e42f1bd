/**
 * What the order functions (push, notification, sweeper) are built from, read once per container:
 * the Order Management client, the orders table, the rules, the clock and the retention.
 */
import type { Context } from 'aws-lambda';
import { intEnv, requireEnv } from '../../shared/config.js';
import { documentClient } from '../../shared/dynamodb.js';
import { logger } from '../../shared/log.js';
import { countOrderStep, type OrderOutcome } from '../../shared/metrics.js';
import { rulesSource } from '../../shared/rules-store.js';
import { createOrderManagementClient, readOmConfig } from '../order-management.js';
import { DynamoDbOrdersStore } from '../orders-store.js';
import type { ProcessDeps } from '../process.js';
import { reportedCredentialsMissing } from './credentials-missing.js';

// Klarna's order ids are UUIDs; accept any URL-safe id but nothing that could smuggle text into logs,
// and no id made only of dots: `.` and `..` are path segments, and Order Management's URL would
// resolve them (`/orders/..` is `/ordermanagement/v1/`).
export const ORDER_ID = /^(?!\.+$)[A-Za-z0-9._~-]{1,128}$/;

const DAY_MS = 86_400_000;

/** Log steps that are the acknowledge call's outcome, counted as OrderStep{step=acknowledge}. */
const acknowledgeOutcomes: Readonly<Record<string, OrderOutcome>> = { acknowledged: 'ok', acknowledge_failed: 'retry' };

/** Read at cold start: a missing table or unusable Klarna configuration fails loudly on deploy. */
export const defaultDeps = (): ProcessDeps => {
  const om = createOrderManagementClient(readOmConfig());
  const store = new DynamoDbOrdersStore(documentClient(), requireEnv('ORDERS_TABLE'));
  return {
    om,
    store,
    rulesFor: (orderId) => rulesSource().rulesFor(orderId),
    now: Date.now,
    retentionMs: intEnv('ORDERS_RETENTION_DAYS', 90, { min: 1, max: 3650 }) * DAY_MS,
    log: (step, fields) => {
      if (reportedCredentialsMissing(fields?.reason, step, fields)) return;
      logger.info('order step', { step, ...fields });
      const acknowledge = acknowledgeOutcomes[step];
      if (acknowledge) countOrderStep('acknowledge', acknowledge);
    },
  };
};

/**
 * The time one pass may take: what the function has left minus a margin to write the answer, and
 * never more than ORDERS_WORK_MS (default 8 s).
 */
export const deadlineFor = (context: Pick<Context, 'getRemainingTimeInMillis'>, now: number): number =>
  now + Math.max(0, Math.min(context.getRemainingTimeInMillis() - 500, intEnv('ORDERS_WORK_MS', 8000, { min: 100, max: 60_000 })));

