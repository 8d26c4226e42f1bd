/**
 * The guards: may this command be sent to Klarna for this order, now? Pure: the recorded order,
 * the ledger and the time in; a refusal with its reason, or the plan (what Klarna is sent and
 * what the ledger becomes), out.
 */
import { planCapture, planRefund, totalsOf, type LedgerOrder, type LedgerState, type Planned } from '../ledger.js';
import type { FraudStatus, OrderStatus } from '../lifecycle.js';
import type { Command } from './command.js';
import type { CaptureEntry, CommandRefusal, LedgerRecord } from './ports.js';

/** The recorded order as the guards read it (OrderRecord fits). */
export type GuardedOrder = LedgerOrder & {
  readonly order_id: string;
  readonly status: OrderStatus;
  readonly fraud_status: FraudStatus;
  readonly klarna_status?: string | undefined;
  readonly purchase_currency: string;
  readonly klarna_expires_at?: string | undefined;
};

export type Decision =
  | { kind: 'refuse'; refusal: CommandRefusal }
  | { kind: 'money'; planned: Planned; klarna_body: Record<string, unknown> }
  | { kind: 'state' };

const refuse = (reason: CommandRefusal['reason'], message: string): Decision => ({ kind: 'refuse', refusal: { reason, message } });

/** The authorization's end: ours after an extension, else Klarna's from the recorded order. */
export const expiresAtOf = (order: Pick<GuardedOrder, 'klarna_expires_at'>, ledger: Pick<LedgerRecord, 'expires_at'> | undefined): string | undefined =>
  ledger?.expires_at ?? order.klarna_expires_at;

export const isExpired = (expiresAt: string | undefined, nowMs: number): boolean => {
  if (expiresAt === undefined) return false;
  const at = Date.parse(expiresAt);
  return Number.isFinite(at) && nowMs >= at;
};

/** Klarna has ended the order itself (as last read, or by our own cancel). */
const closedRefusal = (order: GuardedOrder, ledger: LedgerRecord): Decision | undefined => {
  if (ledger.cancelled_at !== undefined || order.klarna_status === 'CANCELLED') return refuse('order_cancelled', 'The order is cancelled.');
  if (order.klarna_status === 'EXPIRED') return refuse('authorization_expired', 'Klarna reports the authorization expired.');
  if (order.klarna_status === 'CLOSED') return refuse('order_closed', 'Klarna reports the order closed.');
  return undefined;
};

export const decide = (command: Command, order: GuardedOrder, ledger: LedgerRecord, captures: readonly CaptureEntry[], nowMs: number): Decision => {
  const totals = totalsOf(order, ledger.state);
  const expired = isExpired(expiresAtOf(order, ledger), nowMs);
  switch (command.kind) {
    case 'capture': {
      const closed = closedRefusal(order, ledger);
      if (closed) return closed;
      if (ledger.released_at !== undefined) return refuse('authorization_released', 'What was left of the authorization has been released.');
      if (order.status !== 'acknowledged') return refuse('not_acknowledged', `The order is ${order.status}; only an acknowledged order is captured.`);
      if (order.fraud_status !== 'ACCEPTED') return refuse('fraud_status_not_accepted', `Klarna's fraud_status is ${order.fraud_status}; capture only what Klarna accepted.`);
      if (expired) return refuse('authorization_expired', 'The authorization has expired; it can no longer be captured.');
      const planned = planCapture(order, ledger.state, command.body);
      if (!planned.ok) return { kind: 'refuse', refusal: { reason: planned.reason, message: planned.message } };
      const body = command.body;
      return {
        kind: 'money',
        planned,
        klarna_body: {
          captured_amount: planned.amount,
          ...(planned.order_lines ? { order_lines: planned.order_lines } : {}),
          ...(body.reference ? { reference: body.reference } : {}),
          ...(body.shipping_info ? { shipping_info: body.shipping_info } : {}),
        },
      };
    }
    case 'refund': {
      if (totals.captured_amount === 0) return refuse('no_captures', 'Nothing has been captured; cancel or release instead.');
      const planned = planRefund(order, ledger.state, command.body);
      if (!planned.ok) return { kind: 'refuse', refusal: { reason: planned.reason, message: planned.message } };
      return {
        kind: 'money',
        planned,
        klarna_body: {
          refunded_amount: planned.amount,
          ...(planned.order_lines ? { order_lines: planned.order_lines } : {}),
          ...(command.body.reference ? { reference: command.body.reference } : {}),
        },
      };
    }
    case 'cancel': {
      const closed = closedRefusal(order, ledger);
      if (closed) return closed;
      if (totals.captured_amount > 0) return refuse('has_captures', 'Part of the order is captured: release what is left instead of cancelling.');
      if (ledger.released_at !== undefined) return refuse('authorization_released', 'What was left of the authorization has been released.');
      return { kind: 'state' };
    }
    case 'release': {
      const closed = closedRefusal(order, ledger);
      if (closed) return closed;
      if (ledger.released_at !== undefined) return refuse('authorization_released', 'What was left of the authorization has already been released.');
      if (totals.captured_amount === 0) return refuse('no_captures', 'Nothing has been captured: cancel the order instead.');
      if (totals.remaining_authorized_amount <= 0) return refuse('nothing_to_release', 'Everything authorized has been captured.');
      if (expired) return refuse('authorization_expired', 'The authorization has expired; nothing is held any more.');
      return { kind: 'state' };
    }
    case 'extend': {
      const closed = closedRefusal(order, ledger);
      if (closed) return closed;
      if (ledger.released_at !== undefined) return refuse('authorization_released', 'What was left of the authorization has been released.');
      if (totals.remaining_authorized_amount <= 0) return refuse('nothing_to_capture', 'Everything authorized has been captured; there is nothing to extend.');
      if (expired) return refuse('authorization_expired', 'The authorization has expired; only an authorization still running can be extended.');
      return { kind: 'state' };
    }
    case 'shipping_info':
      if (!captures.some((capture) => capture.capture_id === command.capture_id)) return refuse('unknown_capture', 'The order has no capture with this id.');
      return { kind: 'state' };
  }
};

export type { LedgerState };
