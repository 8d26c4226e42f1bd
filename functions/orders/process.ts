/**
 * One pass over an order's life, for a push, a fraud notification or the sweeper: read the order
 * from Klarna, record it once, move fraud_status, check it against the order's rules, and
 * acknowledge it or set it aside for review. Every step is safe to repeat; a pass that fails (or
 * dies) part-way leaves the order where the next pass picks it up. Only ports here: Klarna, the
 * store and the rules come in from the handler.
 */
import { randomUUID } from 'node:crypto';
import { canMoveFraudStatus, fraudStatusFrom, nextFraudStatus, nextKlarnaStatus, nextStep, type FraudStatus } from './lifecycle.js';
import { recordOf, type OrderRecord } from './order.js';
import type { RulesLookup } from '../kco/rules.js';
import { checkOrderAgainstRules } from './order-check.js';
import type { OmFailure, OrderManagement } from './order-management.js';
import type { OrdersStore } from './orders-store.js';

export type Trigger = 'push' | 'notification' | 'sweep';

export type ProcessOutcome =
  | { kind: 'acknowledged'; already: boolean }
  | { kind: 'needs_review'; reason: string; already: boolean }
  /** Recorded; another pass holds the acknowledge lease right now. */
  | { kind: 'in_progress' }
  /** Klarna does not know the order: nothing recorded, nothing acknowledged. */
  | { kind: 'unknown_order' }
  /** Something outside failed; the order stays where it is and the next pass goes on. */
  | { kind: 'retry'; step: 'read' | 'rules' | 'acknowledge'; reason: string };

/** One log line per lifecycle step, with a fixed `step` field so the steps can be counted. */
export type StepLog = (step: string, fields?: Record<string, unknown>) => void;

export type ProcessDeps = {
  readonly om: OrderManagement;
  readonly store: OrdersStore;
  readonly rulesFor: (orderId: string) => Promise<RulesLookup>;
  readonly now: () => number;
  /** How long an order is kept (the TTL), in milliseconds from its recording. */
  readonly retentionMs: number;
  readonly log: StepLog;
};

const failureReason = (failure: OmFailure): string =>
  failure.reason === 'status' ? `status_${failure.status ?? 'unknown'}` : failure.reason;

/**
 * What a notification claims: a stop or a rejection (lifecycle.ts `fraudStatusClaimedBy`). It is
 * applied even when Klarna's read still says ACCEPTED or PENDING, or cannot be read at all.
 */
export type Notice = { readonly claimedFraudStatus?: FraudStatus | undefined };

export const processOrder = async (
  orderId: string,
  trigger: Trigger,
  deadline: number,
  deps: ProcessDeps,
  notice: Notice = {},
): Promise<ProcessOutcome> => {
  const iso = (): string => new Date(deps.now()).toISOString();
  // Every DynamoDB call of the pass counts against the same deadline as Klarna's calls.
  const store = deps.store.withDeadline(deadline, deps.now);
  const claimed = notice.claimedFraudStatus;
  /** Move fraud_status to `to` when the state machine allows it from what we hold. */
  const moveFraud = async (current: OrderRecord, to: FraudStatus | undefined, source: 'klarna' | 'notification'): Promise<OrderRecord> => {
    if (to === undefined || !canMoveFraudStatus(current.fraud_status, to)) return current;
    const moved = await store.moveFraudStatus(orderId, to, iso());
    deps.log(moved === 'moved' ? 'fraud_status' : 'fraud_status_unchanged', { trigger, from: current.fraud_status, to, source });
    return moved === 'moved' ? { ...current, fraud_status: to } : current;
  };
  let record = await store.get(orderId);
  // A stop or rejection we hold the order for goes in first: a Klarna read that fails or hangs
  // afterwards cannot keep it out.
  if (record && claimed !== undefined) record = await moveFraud(record, claimed, 'notification');
  // A repeated push for an order already settled costs no call to Klarna. A notification always
  // re-reads: it exists to tell us Klarna's fraud decision changed.
  if (trigger !== 'notification' && record && record.status !== 'recorded') {
    deps.log('already_settled', { trigger, status: record.status });
    return record.status === 'acknowledged'
      ? { kind: 'acknowledged', already: true }
      : { kind: 'needs_review', reason: record.review_reason ?? 'unknown', already: true };
  }

  const read = await deps.om.getOrder(orderId, deadline);
  if (read.kind === 'not_found') {
    deps.log('order_unknown', { trigger, recorded: record !== undefined });
    return { kind: 'unknown_order' };
  }
  if (read.kind === 'failed') {
    deps.log('read_failed', { trigger, reason: failureReason(read), attempts: read.attempts });
    return { kind: 'retry', step: 'read', reason: failureReason(read) };
  }
  const order = read.value;
  deps.log('read', { trigger, attempts: read.attempts, klarna_status: order.status, fraud_status: order.fraud_status });

  if (!record) {
    const fresh = recordOf(order, iso());
    const created = await store.create(fresh, deps.now() + deps.retentionMs);
    if (created === 'created') {
      deps.log('recorded', { trigger });
      record = fresh;
    } else {
      record = await store.get(orderId);
      if (!record) throw new Error('order vanished after a conditional write found it');
    }
  }

  // The claim first (a recorded-just-now order has not had it yet), then Klarna's own word, which
  // can only move a fraud_status the claim left movable (the state machine's steps).
  if (claimed !== undefined) record = await moveFraud(record, claimed, 'notification');
  record = await moveFraud(record, nextFraudStatus(record.fraud_status, fraudStatusFrom(order.fraud_status)), 'klarna');
  // Every read refreshes Klarna's own status: CANCELLED, EXPIRED or CLOSED take shipping away.
  const klarnaStatus = nextKlarnaStatus(record.klarna_status, order.status);
  if (klarnaStatus !== undefined) {
    const moved = await store.refreshKlarnaStatus(orderId, klarnaStatus, iso());
    deps.log(moved === 'moved' ? 'klarna_status' : 'klarna_status_unchanged', { trigger, from: record.klarna_status, to: klarnaStatus });
  }

  // Only a recorded order is checked: acknowledged and needs_review are settled.
  if (record.status !== 'recorded') return settled(record);
  const rules = await beforeDeadline(deps.rulesFor(orderId), deadline, deps.now);
  if (rules === 'deadline') {
    deps.log('rules_unavailable', { trigger, reason: 'deadline' });
    return { kind: 'retry', step: 'rules', reason: 'deadline' };
  }
  const verdict = checkOrderAgainstRules(orderId, order, rules);
  if (verdict === 'unavailable') {
    deps.log('rules_unavailable', { trigger });
    return { kind: 'retry', step: 'rules', reason: 'rules_unavailable' };
  }
  const step = nextStep(record.status, () => verdict);
  if (step.kind === 'none') return settled(record);

  // Only the holder of the lease moves the status, to needs_review as to acknowledged: a pass that
  // checked against older rules cannot acknowledge an order a later pass held for review, nor the
  // other way round. The lease runs out when this pass must have ended: a pass that dies holds it
  // no longer.
  const owner = randomUUID();
  if (!(await store.claimAcknowledgement(orderId, owner, deps.now(), deadline))) {
    const current = await store.get(orderId);
    if (current && current.status !== 'recorded') return settled(current);
    deps.log('acknowledge_in_progress', { trigger });
    return { kind: 'in_progress' };
  }
  if (step.kind === 'review') {
    const moved = await store.moveStatus(orderId, 'needs_review', iso(), { review_reason: step.reason, lease_owner: owner });
    deps.log(moved === 'moved' ? 'needs_review' : 'needs_review_raced', { trigger, reason: step.reason });
    return moved === 'moved' ? { kind: 'needs_review', reason: step.reason, already: false } : settled(await store.get(orderId));
  }
  const ack = await deps.om.acknowledge(orderId, deadline);
  if (ack.kind !== 'ok') {
    // Best effort: the lease runs out at the deadline anyway, and a release that fails or finds
    // the deadline passed must not turn Klarna's failure into ours.
    await store.releaseAcknowledgement(orderId, owner).catch(() => deps.log('lease_not_released', { trigger }));
    const reason = ack.kind === 'not_found' ? 'not_found' : failureReason(ack);
    deps.log('acknowledge_failed', { trigger, reason, attempts: ack.attempts });
    return { kind: 'retry', step: 'acknowledge', reason };
  }
  // With its authorization's end: the order enters the expiry sweep's index (orders-store.ts).
  const moved = await store.moveStatus(orderId, 'acknowledged', iso(), { lease_owner: owner, expires_at: record.klarna_expires_at });
  deps.log('acknowledged', { trigger, attempts: ack.attempts, moved: moved === 'moved' });
  // Lost the lease while Klarna answered: whoever holds it now decides (a review stays a review).
  return moved === 'moved' ? { kind: 'acknowledged', already: false } : settled(await store.get(orderId));
};

/** `promise`, or 'deadline' when `deadline` passes first (the promise is left to settle alone). */
const beforeDeadline = async <T>(promise: Promise<T>, deadline: number, now: () => number): Promise<T | 'deadline'> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), Math.max(0, deadline - now()))));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
};

const settled = (record: OrderRecord | undefined): ProcessOutcome => {
  if (record?.status === 'acknowledged') return { kind: 'acknowledged', already: true };
  if (record?.status === 'needs_review') return { kind: 'needs_review', reason: record.review_reason ?? 'unknown', already: true };
  return { kind: 'in_progress' };
};
