/**
 * The order's life after the purchase, as a pure state machine: which of our statuses may follow
 * which, and how Klarna's `fraud_status` may move. Nothing here reads a clock, a table or Klarna;
 * the store turns each allowed step into one conditional update whose condition is `from` below,
 * so two writers racing cannot move an order backwards.
 */

/** Our statuses. `recorded`: read from Klarna and stored, not yet acknowledged. */
export const orderStatuses = ['recorded', 'acknowledged', 'needs_review'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/**
 * Which status may follow which. `needs_review` → `acknowledged` is the operator accepting an
 * order that failed the check; nothing ever returns to `recorded`, and `acknowledged` is final.
 */
const statusSteps: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  recorded: ['acknowledged', 'needs_review'],
  needs_review: ['acknowledged'],
  acknowledged: [],
};

/**
 * The one status a pass (push, notification, sweeper) moves an order from, and only while it holds
 * the acknowledge lease. `needs_review` → `acknowledged` is the operator's step alone: no pass,
 * however it interleaves with another and with a rules change, turns a held order into a shipped one.
 */
export const PASS_MOVES_FROM: OrderStatus = 'recorded';

export const canMoveStatus = (from: OrderStatus, to: OrderStatus): boolean => statusSteps[from].includes(to);

/** The statuses from which `to` may be reached: the condition of the update that sets it. */
export const statusesBefore = (to: OrderStatus): OrderStatus[] => orderStatuses.filter((from) => canMoveStatus(from, to));

/**
 * Klarna's fraud_status values (Order Management: ACCEPTED, PENDING, REJECTED) plus STOPPED, which
 * Klarna's FRAUD_RISK_STOPPED notification names: an order stopped after it was accepted.
 */
export const fraudStatuses = ['PENDING', 'ACCEPTED', 'REJECTED', 'STOPPED'] as const;
export type FraudStatus = (typeof fraudStatuses)[number];

/**
 * PENDING is the only state that may be left; ACCEPTED may still be stopped (Klarna's review can
 * stop an order it accepted); REJECTED and STOPPED are final. A late notification or a stale read
 * therefore can never turn a rejected order back into one that ships.
 */
const fraudSteps: Readonly<Record<FraudStatus, readonly FraudStatus[]>> = {
  PENDING: ['ACCEPTED', 'REJECTED', 'STOPPED'],
  ACCEPTED: ['REJECTED', 'STOPPED'],
  REJECTED: [],
  STOPPED: [],
};

export const isFraudStatus = (value: unknown): value is FraudStatus =>
  typeof value === 'string' && (fraudStatuses as readonly string[]).includes(value);

export const canMoveFraudStatus = (from: FraudStatus, to: FraudStatus): boolean => fraudSteps[from].includes(to);

export const fraudStatusesBefore = (to: FraudStatus): FraudStatus[] => fraudStatuses.filter((from) => canMoveFraudStatus(from, to));

/**
 * Klarna's word on fraud, read from the order: an unknown value is treated as PENDING (do not
 * ship) rather than trusted, so the check fails closed.
 */
export const fraudStatusFrom = (value: unknown): FraudStatus => (isFraudStatus(value) ? value : 'PENDING');

/** Klarna order statuses after which nothing may be shipped; Klarna never leaves them. */
export const CLOSED_KLARNA_STATUSES: ReadonlySet<string> = new Set(['CANCELLED', 'EXPIRED', 'CLOSED']);

/**
 * The klarna_status to store after a read: what Klarna says, unless it is what we hold already or
 * we hold a closed status (a late, stale read must not reopen a cancelled order). undefined: keep.
 */
export const nextKlarnaStatus = (stored: string | undefined, fromKlarna: string | undefined): string | undefined => {
  if (fromKlarna === undefined || fromKlarna === stored) return undefined;
  if (stored !== undefined && CLOSED_KLARNA_STATUSES.has(stored)) return undefined;
  return fromKlarna;
};

/**
 * The fraud_status a notification claims, for the claims that take shipping away. A notification
 * is authenticated by the callback token but its body is Klarna's word only for a stop or a
 * rejection: it may take shipping away, never grant it (ACCEPTED comes only from Klarna's read).
 */
export const fraudStatusClaimedBy = (eventType: string | undefined): FraudStatus | undefined =>
  eventType === 'FRAUD_RISK_STOPPED' ? 'STOPPED' : eventType === 'FRAUD_RISK_REJECTED' ? 'REJECTED' : undefined;

/**
 * May the shop ship? Only an acknowledged order that Klarna's fraud check has accepted and that
 * Klarna has not cancelled. PENDING means wait for the notification.
 */
export const mayShip = (order: { status: OrderStatus; fraud_status: FraudStatus; klarna_status?: string | undefined }): boolean =>
  order.status === 'acknowledged' &&
  order.fraud_status === 'ACCEPTED' &&
  !CLOSED_KLARNA_STATUSES.has(order.klarna_status ?? '');

/** The next fraud_status, given what is stored and what Klarna now says; undefined: no change. */
export const nextFraudStatus = (stored: FraudStatus, fromKlarna: FraudStatus): FraudStatus | undefined =>
  canMoveFraudStatus(stored, fromKlarna) ? fromKlarna : undefined;

/**
 * What a push or notification should do next with an order we already hold. `check` is the
 * outcome of comparing Klarna's order with the order's rules (only asked for a `recorded` order).
 */
export type NextStep = { kind: 'acknowledge' } | { kind: 'review'; reason: string } | { kind: 'none' };

export const nextStep = (status: OrderStatus, check: () => { ok: true } | { ok: false; reason: string }): NextStep => {
  if (status !== 'recorded') return { kind: 'none' };
  const verdict = check();
  return verdict.ok ? { kind: 'acknowledge' } : { kind: 'review', reason: verdict.reason };
};
