/**
 * The sweeper's one run: every order recorded longer ago than `afterMs` and still not acknowledged
 * gets one more pass (read, check, acknowledge), as many as the run's time and `limit` allow. The
 * orders tried least come first (then the oldest), so a new order is read on the next run however
 * many stuck ones wait before it; each pass that leaves an order waiting counts a try, and an
 * order past `maxTries` tries or `maxAgeMs` of age is given up: set aside for review
 * (`sweep_gave_up`), out of the waiting set, counted and alarmed. Whatever still waits
 * afterwards, all of it, is counted: that count is what the awaiting alarm watches.
 */
import { randomUUID } from 'node:crypto';
import { processOrder, type ProcessDeps, type ProcessOutcome } from './process.js';

/** The review_reason of an order the sweeper gave up on. */
export const SWEEP_GAVE_UP = 'sweep_gave_up';

export type SweepResult = {
  /** Orders found waiting (all of them, not only those tried). */
  found: number;
  acknowledged: number;
  needsReview: number;
  /** Given up after too many tries or too long: now needs_review with `sweep_gave_up`. */
  gaveUp: number;
  /** Still not acknowledged after their pass (Klarna failing, unknown, another pass busy) or not reached. */
  stillWaiting: number;
};

export type SweepOptions = { afterMs: number; limit: number; deadline: number; perOrderMs: number; maxTries: number; maxAgeMs: number };

export const sweep = async (deps: ProcessDeps, options: SweepOptions): Promise<SweepResult> => {
  const now = deps.now();
  const before = new Date(now - options.afterMs).toISOString();
  const store = deps.store.withDeadline(options.deadline, deps.now);
  const waiting = (await store.awaitingAcknowledgement(before)).sort(
    (a, b) => a.sweep_tries - b.sweep_tries || (a.recorded_at < b.recorded_at ? -1 : a.recorded_at > b.recorded_at ? 1 : 0),
  );
  const result: SweepResult = { found: waiting.length, acknowledged: 0, needsReview: 0, gaveUp: 0, stillWaiting: 0 };
  let tried = 0;
  for (const order of waiting) {
    if (tried >= options.limit || deps.now() + 500 > options.deadline) {
      result.stillWaiting += 1;
      continue;
    }
    tried += 1;
    const orderId = order.order_id;
    const log: ProcessDeps['log'] = (step, fields) => deps.log(step, { order_id: orderId, ...fields });
    const orderDeadline = Math.min(options.deadline, deps.now() + options.perOrderMs);
    let outcome: ProcessOutcome;
    try {
      outcome = await processOrder(orderId, 'sweep', orderDeadline, { ...deps, log });
    } catch {
      outcome = { kind: 'retry', step: 'read', reason: 'internal_error' };
    }
    if (outcome.kind === 'acknowledged') {
      result.acknowledged += 1;
      continue;
    }
    if (outcome.kind === 'needs_review') {
      result.needsReview += 1;
      continue;
    }
    const tries = order.sweep_tries + 1;
    const age = now - Date.parse(order.recorded_at);
    if (tries >= options.maxTries || age >= options.maxAgeMs) {
      if (await giveUp(orderId, outcome, orderDeadline, { ...deps, log })) {
        result.gaveUp += 1;
        continue;
      }
    } else {
      await store.countSweepTry(orderId).catch(() => log('sweep_try_not_counted', {}));
    }
    result.stillWaiting += 1;
  }
  return result;
};

/** Set an order aside for review under the acknowledge lease (only its holder moves a status). */
const giveUp = async (orderId: string, last: ProcessOutcome, deadline: number, deps: ProcessDeps): Promise<boolean> => {
  const store = deps.store.withDeadline(deadline, deps.now);
  const owner = randomUUID();
  try {
    if (!(await store.claimAcknowledgement(orderId, owner, deps.now(), deadline))) return false;
    const moved = await store.moveStatus(orderId, 'needs_review', new Date(deps.now()).toISOString(), { review_reason: SWEEP_GAVE_UP, lease_owner: owner });
    const lastReason = last.kind === 'retry' ? last.reason : last.kind;
    deps.log(moved === 'moved' ? 'sweep_gave_up' : 'sweep_give_up_raced', { trigger: 'sweep', last: lastReason });
    return moved === 'moved';
  } catch {
    return false;
  }
};
