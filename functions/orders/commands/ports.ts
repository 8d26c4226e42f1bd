/**
 * What the command use cases depend on, as narrow types: the ledger store (its DynamoDB adapter is
 * functions/orders/command-ledger-store.ts), the events, and the shapes kept per order.
 */
import type { KlarnaCommandLine, LedgerState } from '../ledger.js';
import type { CommandKind, CommandReason, ShippingInfo } from './command.js';

export type CaptureEntry = {
  readonly capture_id: string;
  readonly captured_amount: number;
  readonly order_lines?: readonly KlarnaCommandLine[];
  readonly reference?: string;
  readonly shipping_info?: readonly ShippingInfo[];
  readonly command_id: string;
  readonly captured_at: string;
};
export type RefundEntry = {
  readonly refund_id: string;
  readonly refunded_amount: number;
  readonly order_lines?: readonly KlarnaCommandLine[];
  readonly reference?: string;
  readonly command_id: string;
  readonly refunded_at: string;
};

/** A command in flight: what it sends to Klarna, kept so that its retry sends the same. */
export type PendingPlan = {
  readonly command_id: string;
  readonly fingerprint: string;
  /** The ledger version the plan was made from: a plan is only reused on the same version. */
  readonly base_version: number;
  readonly klarna_body?: Record<string, unknown>;
  readonly next_state?: LedgerState;
};

/** The per-order ledger item: state in units, what Klarna did to the authorization, the lease. */
export type LedgerRecord = {
  readonly state: LedgerState;
  /** +1 with every booked command; 0 before the first. */
  readonly version: number;
  readonly cancelled_at?: string;
  readonly released_at?: string;
  /** Klarna's `expires_at` after our last extension (else the recorded order's). */
  readonly expires_at?: string;
  readonly extended_at?: string;
  /** The expiry warnings already published, by the `expires_at` they were about. */
  readonly expiring_notified_for?: string;
  readonly expired_alarmed_for?: string;
  readonly lease?: { readonly command_id: string; readonly fingerprint: string; readonly until: number };
  readonly plan?: PendingPlan;
};

export type CommandAnswer = { readonly status: number; readonly body: Record<string, unknown> };

export const commandEventTypes = {
  capture: 'Order Captured',
  refund: 'Order Refunded',
  cancel: 'Order Cancelled',
  release: 'Authorization Released',
  extend: 'Authorization Extended',
  refused: 'Command Refused',
  failed: 'Command Failed',
  expiring: 'Authorization Expiring',
  expired: 'Authorization Expired',
} as const;
export type CommandEventType = (typeof commandEventTypes)[keyof typeof commandEventTypes];

export type CommandEventDetail = {
  schema_version: 1;
  order_id: string;
  occurred_at: string;
  command_id?: string;
  command?: CommandKind;
  [field: string]: unknown;
};
export type CommandEvent = { readonly detailType: CommandEventType; readonly detail: CommandEventDetail };

/** A booked command: its answer (a repeat gets the same) and its event (published from the stream). */
export type StoredCommand = {
  readonly command_id: string;
  readonly kind: CommandKind;
  readonly fingerprint: string;
  readonly answer: CommandAnswer;
  readonly completed_at: string;
  readonly event?: CommandEvent;
};

export type Completion = {
  readonly command: StoredCommand;
  /** Ledger changes, conditional on `base_version` and our lease, which the booking gives up. */
  readonly ledger: {
    readonly base_version: number;
    readonly state?: LedgerState;
    readonly set?: Partial<Pick<LedgerRecord, 'cancelled_at' | 'released_at' | 'expires_at' | 'extended_at'>>;
  };
  readonly capture?: CaptureEntry;
  readonly refund?: RefundEntry;
  readonly shippingInfo?: { readonly capture_id: string; readonly shipping_info: readonly ShippingInfo[] };
};

export type Claim =
  | { readonly kind: 'claimed'; readonly ledger: LedgerRecord }
  | { readonly kind: 'busy'; readonly command_id: string; readonly fingerprint: string };

export interface CommandLedgerStore {
  ledger(orderId: string): Promise<LedgerRecord | undefined>;
  entries(orderId: string): Promise<{ captures: CaptureEntry[]; refunds: RefundEntry[] }>;
  command(orderId: string, commandId: string): Promise<StoredCommand | undefined>;
  /** Take the order's command lease until `untilMs` (epoch ms); the ledger item is created if absent. */
  claim(orderId: string, lease: { command_id: string; fingerprint: string }, nowMs: number, untilMs: number): Promise<Claim>;
  /** Keep the plan of the lease holder (only while it holds the lease). */
  savePlan(orderId: string, plan: PendingPlan): Promise<void>;
  /** Give the lease up now; `dropPlan` when nothing was sent that a retry must repeat. */
  release(orderId: string, commandId: string, dropPlan: boolean): Promise<void>;
  /** One transaction; 'conflict' when the command is already booked or the ledger moved on. */
  complete(orderId: string, completion: Completion): Promise<'completed' | 'conflict'>;
  /** Mark an expiry warning or alarm as sent for `expiresAt`; false when it was already. */
  markExpiry(orderId: string, field: 'expiring_notified_for' | 'expired_alarmed_for', expiresAt: string): Promise<boolean>;
}

export type CommandRefusal = { readonly reason: CommandReason; readonly message: string; readonly klarna_error_code?: string };
