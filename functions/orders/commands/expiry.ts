/**
 * What the expiry sweep does with one order, decided purely: warn the shop a configurable number
 * of days before the authorization ends (`Authorization Expiring`), extend it instead when
 * automatic extension is on, and raise the alarm for an acknowledged order that expired with
 * authorization left. Each warning and alarm once per `expires_at` (an extension gives a new one).
 */
import { emptyLedger, totalsOf } from '../ledger.js';
import { expiryDue } from '../order.js';
import { expiresAtOf, type GuardedOrder } from './guards.js';
import type { LedgerRecord } from './ports.js';

export type ExpirySettings = { readonly warningDays: number; readonly autoExtend: boolean };

export type ExpiryStep =
  | { kind: 'none' }
  | { kind: 'warn'; expires_at: string; remaining_authorized_amount: number; hours_left: number }
  | { kind: 'extend'; expires_at: string; remaining_authorized_amount: number }
  | { kind: 'expired'; expires_at: string; remaining_authorized_amount: number };

const DAY_MS = 86_400_000;
const CLOSED = new Set(['CANCELLED', 'EXPIRED', 'CLOSED']);

export const expiryStep = (order: GuardedOrder, ledger: LedgerRecord | undefined, nowMs: number, settings: ExpirySettings): ExpiryStep => {
  if (order.status !== 'acknowledged' || CLOSED.has(order.klarna_status ?? '')) return { kind: 'none' };
  if (ledger?.cancelled_at !== undefined || ledger?.released_at !== undefined) return { kind: 'none' };
  const remaining = totalsOf(order, ledger?.state ?? emptyLedger(order)).remaining_authorized_amount;
  if (remaining <= 0) return { kind: 'none' };
  const expiresAt = expiresAtOf(order, ledger);
  const at = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
  if (expiresAt === undefined || !Number.isFinite(at)) return { kind: 'none' };
  if (nowMs >= at) {
    return ledger?.expired_alarmed_for === expiresAt ? { kind: 'none' } : { kind: 'expired', expires_at: expiresAt, remaining_authorized_amount: remaining };
  }
  if (nowMs < at - settings.warningDays * DAY_MS) return { kind: 'none' };
  if (settings.autoExtend && order.fraud_status === 'ACCEPTED') return { kind: 'extend', expires_at: expiresAt, remaining_authorized_amount: remaining };
  if (ledger?.expiring_notified_for === expiresAt) return { kind: 'none' };
  return { kind: 'warn', expires_at: expiresAt, remaining_authorized_amount: remaining, hours_left: Math.floor((at - nowMs) / 3_600_000) };
};

/** The command id of an automatic extension: one per `expires_at`, so a repeated sweep extends once. */
export const autoExtendCommandId = (expiresAt: string): string => `auto-extend-${expiresAt.replace(/[^A-Za-z0-9._~:-]/g, '-')}`;

/**
 * Where the order belongs in the expiry index once the sweep has dealt with it: at its
 * authorization's end while money can still expire; out of it (undefined) once nothing is left
 * to capture, the order is cancelled, released or closed by Klarna, or it expired and was alarmed.
 */
export const indexedDue = (order: GuardedOrder, ledger: LedgerRecord | undefined): string | undefined => {
  if (order.status !== 'acknowledged' || CLOSED.has(order.klarna_status ?? '')) return undefined;
  if (ledger?.cancelled_at !== undefined || ledger?.released_at !== undefined) return undefined;
  if (totalsOf(order, ledger?.state ?? emptyLedger(order)).remaining_authorized_amount <= 0) return undefined;
  const expiresAt = expiresAtOf(order, ledger);
  if (expiresAt !== undefined && ledger?.expired_alarmed_for === expiresAt) return undefined;
  return expiryDue(expiresAt);
};
