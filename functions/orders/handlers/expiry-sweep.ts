/**
 * The expiry sweep (scheduled, every 6 hours): every acknowledged order whose authorization ends
 * within ORDERS_EXPIRY_WARNING_DAYS (default 3) gets `Authorization Expiring` once per `expires_at`,
 * or, with ORDERS_AUTO_EXTEND=true (default off), an extension through the same use case as the
 * shop's `extend` (command id `auto-extend-<expires_at>`, so it is booked once). An order that
 * expired with authorization left publishes `Authorization Expired` once and counts
 * `AuthorizationsExpiredWithBalance` in the instance's metrics namespace, which is alarmed.
 *
 * The orders table has no index on expires_at (its item belongs to the lifecycle): the sweep
 * reads it page by page with a filter, within the function's time (docs/cost.md: one read of
 * the table per run).
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { intEnv, optionalEnv, requireEnv } from '../../shared/config.js';
import { documentClient } from '../../shared/dynamodb.js';
import { describeError, logger } from '../../shared/log.js';
import { countExpiredWithBalance } from '../../shared/metrics.js';
import { autoExtendCommandId, expiryStep, type ExpirySettings } from '../commands/expiry.js';
import { commandEventTypes } from '../commands/ports.js';
import { runCommand } from '../commands/run.js';
import { commandDeps, type CommandContext } from './command-deps.js';


export const readExpirySettings = (): ExpirySettings => {
  const auto = (optionalEnv('ORDERS_AUTO_EXTEND') ?? 'false').toLowerCase();
  if (!['true', 'false'].includes(auto)) throw new Error(`ORDERS_AUTO_EXTEND must be true or false, got "${auto}"`);
  return { warningDays: intEnv('ORDERS_EXPIRY_WARNING_DAYS', 3, { min: 1, max: 30 }), autoExtend: auto === 'true' };
};

export type ExpiryResult = { looked_at: number; warned: number; extended: number; expired: number; failed: number };

export const sweepExpiry = async (deps: CommandContext, ordersTableName: string, settings: ExpirySettings, deadline: number): Promise<ExpiryResult> => {
  const result: ExpiryResult = { looked_at: 0, warned: 0, extended: 0, expired: 0, failed: 0 };
  const horizon = new Date(deps.now() + settings.warningDays * 86_400_000).toISOString();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documentClient().send(
      new ScanCommand({
        TableName: ordersTableName,
        FilterExpression: '#status = :acknowledged AND klarna_expires_at < :horizon',
        ProjectionExpression: 'order_id',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':acknowledged': 'acknowledged', ':horizon': horizon },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    start = page.LastEvaluatedKey;
    for (const { order_id: orderId } of page.Items ?? []) {
      if (deps.now() > deadline - 2000) return result;
      result.looked_at += 1;
      try {
        const order = await deps.ordersStore.get(String(orderId));
        if (!order) continue;
        const ledger = await deps.ledgerStore.ledger(order.order_id);
        const step = expiryStep(order, ledger, deps.now(), settings);
        const occurred_at = new Date(deps.now()).toISOString();
        const detail = { schema_version: 1 as const, order_id: order.order_id, occurred_at, purchase_currency: order.purchase_currency };
        if (step.kind === 'extend') {
          const outcome = await runCommand({ kind: 'extend', order_id: order.order_id, body: { command_id: autoExtendCommandId(step.expires_at) } }, deps, Math.min(deadline, deps.now() + 8000));
          if (outcome.outcome === 'booked' || outcome.outcome === 'replayed') {
            result.extended += 1;
            continue;
          }
        }
        if ((step.kind === 'warn' || step.kind === 'extend') && (await deps.ledgerStore.markExpiry(order.order_id, 'expiring_notified_for', step.expires_at))) {
          await deps.publish({ detailType: commandEventTypes.expiring, detail: { ...detail, expires_at: step.expires_at, remaining_authorized_amount: step.remaining_authorized_amount, warning_days: settings.warningDays } });
          result.warned += 1;
        }
        if (step.kind === 'expired' && (await deps.ledgerStore.markExpiry(order.order_id, 'expired_alarmed_for', step.expires_at))) {
          logger.warn('authorization expired with balance', { step: 'authorization_expired', order_id: order.order_id, remaining_authorized_amount: step.remaining_authorized_amount });
          await deps.publish({ detailType: commandEventTypes.expired, detail: { ...detail, expires_at: step.expires_at, remaining_authorized_amount: step.remaining_authorized_amount } });
          result.expired += 1;
        }
      } catch (error) {
        result.failed += 1;
        logger.error('expiry sweep of an order failed', { step: 'expiry_failed', order_id: String(orderId), ...describeError(error) });
      }
    }
  } while (start);
  return result;
};

let deps: CommandContext | undefined;

export const handler = async (_event: unknown, context: Context): Promise<ExpiryResult> => {
  logger.addContext(context);
  deps ??= commandDeps();
  const now = deps.now();
  const result = await sweepExpiry(deps, requireEnv('ORDERS_TABLE'), readExpirySettings(), now + context.getRemainingTimeInMillis());
  logger.info('expiry swept', { step: 'expiry_sweep', ...result });
  countExpiredWithBalance(result.expired);
  return result;
};
