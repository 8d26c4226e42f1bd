/**
 * The expiry sweep (scheduled, every 6 hours): every acknowledged order whose authorization ends
 * within ORDERS_EXPIRY_WARNING_DAYS (default 3) gets `Authorization Expiring` once per `expires_at`,
 * or, with ORDERS_AUTO_EXTEND=true (default off), an extension through the same use case as the
 * shop's `extend` (command id `auto-extend-<expires_at>`, so it is booked once). An order that
 * expired with authorization left publishes `Authorization Expired` once and counts
 * `AuthorizationsExpiredWithBalance` in the instance's metrics namespace, which is alarmed.
 *
 * Which orders: a Query of the orders table's index `authorization-expiry` (lib/tables.ts) for
 * those due before the window's end, never a scan. Acknowledging puts an order there; the sweep
 * keeps it: an extension moves it to its new end, and it leaves once nothing can expire any more
 * (captured, cancelled, released, closed by Klarna, expired and alarmed). The commands never
 * write the orders item, so an order settled by them leaves when its end comes into the window:
 * each order is read at most a few times in its life, whatever the size of the table.
 *
 * Orders acknowledged before the index existed have no `expiry_bucket`: the sweep's first runs
 * scan the table once for them, page by page within half their time, the scan's place kept in
 * the ledger table (EXPIRY_BACKFILL_KEY), and never again once it has reached the end.
 */
import type { Context } from 'aws-lambda';
import { intEnv, optionalEnv } from '../../shared/config.js';
import { describeError, logger } from '../../shared/log.js';
import { countExpiredWithBalance } from '../../shared/metrics.js';
import { autoExtendCommandId, expiryStep, indexedDue, type ExpirySettings } from '../commands/expiry.js';
import { commandEventTypes } from '../commands/ports.js';
import { runCommand } from '../commands/run.js';
import { commandDeps, type CommandContext } from './command-deps.js';

export const readExpirySettings = (): ExpirySettings => {
  const auto = (optionalEnv('ORDERS_AUTO_EXTEND') ?? 'false').toLowerCase();
  if (!['true', 'false'].includes(auto)) throw new Error(`ORDERS_AUTO_EXTEND must be true or false, got "${auto}"`);
  return { warningDays: intEnv('ORDERS_EXPIRY_WARNING_DAYS', 3, { min: 1, max: 30 }), autoExtend: auto === 'true' };
};

export type ExpiryResult = {
  looked_at: number;
  warned: number;
  extended: number;
  expired: number;
  failed: number;
  /** Orders moved in the expiry index (a new end) or taken out of it. */
  reindexed: number;
  /** Pages read from the index, and the read capacity they consumed. */
  index_pages: number;
  read_units: number;
  /** Orders acknowledged before the index existed, put in it this run. */
  backfilled: number;
};

/** Put orders acknowledged before the index existed in it, resuming where the last run stopped. */
const backfill = async (deps: CommandContext, until: number): Promise<number> => {
  const state = await deps.ledgerStore.expiryBackfill();
  if (state.done) return 0;
  let next = state.next;
  let indexed = 0;
  do {
    const page = await deps.ordersStore.indexUnindexed(next);
    indexed += page.indexed;
    next = page.next;
    await deps.ledgerStore.saveExpiryBackfill(next === undefined ? { done: true } : { done: false, next });
  } while (next !== undefined && deps.now() < until);
  return indexed;
};

export const sweepExpiry = async (deps: CommandContext, settings: ExpirySettings, deadline: number): Promise<ExpiryResult> => {
  const result: ExpiryResult = { looked_at: 0, warned: 0, extended: 0, expired: 0, failed: 0, reindexed: 0, index_pages: 0, read_units: 0, backfilled: 0 };
  result.backfilled = await backfill(deps, deps.now() + (deadline - deps.now()) / 2);
  const horizon = new Date(deps.now() + settings.warningDays * 86_400_000).toISOString();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await deps.ordersStore.dueBefore(horizon, start);
    result.index_pages += 1;
    result.read_units += page.readUnits;
    start = page.next;
    for (const due of page.orders) {
      if (deps.now() > deadline - 2000) return result;
      result.looked_at += 1;
      try {
        const order = await deps.ordersStore.get(due.order_id);
        if (!order) continue;
        let ledger = await deps.ledgerStore.ledger(order.order_id);
        const step = expiryStep(order, ledger, deps.now(), settings);
        const occurred_at = new Date(deps.now()).toISOString();
        const detail = { schema_version: 1 as const, order_id: order.order_id, occurred_at, purchase_currency: order.purchase_currency };
        let extended = false;
        if (step.kind === 'extend') {
          const outcome = await runCommand({ kind: 'extend', order_id: order.order_id, body: { command_id: autoExtendCommandId(step.expires_at) } }, deps, Math.min(deadline, deps.now() + 8000));
          extended = outcome.outcome === 'booked' || outcome.outcome === 'replayed';
          if (extended) {
            result.extended += 1;
            // Its new end: where the order moves in the index.
            ledger = await deps.ledgerStore.ledger(order.order_id);
          }
        }
        if (!extended && (step.kind === 'warn' || step.kind === 'extend') && (await deps.ledgerStore.markExpiry(order.order_id, 'expiring_notified_for', step.expires_at))) {
          await deps.publish({ detailType: commandEventTypes.expiring, detail: { ...detail, expires_at: step.expires_at, remaining_authorized_amount: step.remaining_authorized_amount, warning_days: settings.warningDays } });
          result.warned += 1;
        }
        if (step.kind === 'expired' && (await deps.ledgerStore.markExpiry(order.order_id, 'expired_alarmed_for', step.expires_at))) {
          logger.warn('authorization expired with balance', { step: 'authorization_expired', order_id: order.order_id, remaining_authorized_amount: step.remaining_authorized_amount });
          await deps.publish({ detailType: commandEventTypes.expired, detail: { ...detail, expires_at: step.expires_at, remaining_authorized_amount: step.remaining_authorized_amount } });
          result.expired += 1;
        }
        // Expired and alarmed (now or by an earlier run): nothing more to do for it.
        const keep = step.kind === 'expired' ? undefined : indexedDue(order, ledger);
        if (keep !== due.expiry_due) {
          await deps.ordersStore.setExpiryDue(order.order_id, keep);
          result.reindexed += 1;
        }
      } catch (error) {
        result.failed += 1;
        logger.error('expiry sweep of an order failed', { step: 'expiry_failed', order_id: due.order_id, ...describeError(error) });
      }
    }
  } while (start);
  return result;
};

let deps: CommandContext | undefined;

export const handler = async (_event: unknown, context: Context): Promise<ExpiryResult> => {
  logger.addContext(context);
  deps ??= commandDeps();
  const result = await sweepExpiry(deps, readExpirySettings(), deps.now() + context.getRemainingTimeInMillis());
  logger.info('expiry swept', { step: 'expiry_sweep', ...result });
  countExpiredWithBalance(result.expired);
  return result;
};
