/**
 * `GET /orders/{order_id}`: the recorded order with its captures and refunds, the totals, whether
 * the shop may ship and when the authorization ends. Pure.
 */
import { emptyLedger, totalsOf } from '../ledger.js';
import { mayShip } from '../lifecycle.js';
import type { OrderRecord } from '../order.js';
import { expiresAtOf, isExpired } from './guards.js';
import type { CaptureEntry, LedgerRecord, RefundEntry } from './ports.js';

export type OrderView = {
  order: OrderRecord;
  captures: readonly CaptureEntry[];
  refunds: readonly RefundEntry[];
  captured_amount: number;
  refunded_amount: number;
  /** What Klarna still holds authorized: 0 once cancelled, released or expired. */
  remaining_authorized_amount: number;
  may_ship: boolean;
  expires_at?: string;
  cancelled_at?: string;
  released_at?: string;
};

export const viewOf = (order: OrderRecord, ledger: LedgerRecord | undefined, entries: { captures: readonly CaptureEntry[]; refunds: readonly RefundEntry[] }, nowMs: number): OrderView => {
  const totals = totalsOf(order, ledger?.state ?? emptyLedger(order));
  const expiresAt = expiresAtOf(order, ledger);
  const ended = ledger?.cancelled_at !== undefined || ledger?.released_at !== undefined || isExpired(expiresAt, nowMs);
  return {
    order,
    captures: entries.captures,
    refunds: entries.refunds,
    captured_amount: totals.captured_amount,
    refunded_amount: totals.refunded_amount,
    remaining_authorized_amount: ended ? 0 : totals.remaining_authorized_amount,
    may_ship: mayShip(order) && ledger?.cancelled_at === undefined,
    ...(expiresAt ? { expires_at: expiresAt } : {}),
    ...(ledger?.cancelled_at ? { cancelled_at: ledger.cancelled_at } : {}),
    ...(ledger?.released_at ? { released_at: ledger.released_at } : {}),
  };
};
