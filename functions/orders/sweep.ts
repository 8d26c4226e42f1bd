/**
 * The sweeper's one run: every order recorded longer ago than `afterMs` and still not acknowledged
 * gets one more pass (read, check, acknowledge), oldest first, as many as the run's time allows.
 * Whatever is still waiting afterwards is counted: that count is what the alarm watches.
 */
import { processOrder, type ProcessDeps, type ProcessOutcome } from './process.js';

export type SweepResult = {
  /** Orders found waiting. */
  found: number;
  acknowledged: number;
  needsReview: number;
  /** Still not acknowledged after their pass (Klarna failing, unknown, another pass busy) or not reached. */
  stillWaiting: number;
};

export const sweep = async (
  deps: ProcessDeps,
  options: { afterMs: number; limit: number; deadline: number; perOrderMs: number },
): Promise<SweepResult> => {
  const before = new Date(deps.now() - options.afterMs).toISOString();
  const waiting = await deps.store.withDeadline(options.deadline, deps.now).awaitingAcknowledgement(before, options.limit);
  const result: SweepResult = { found: waiting.length, acknowledged: 0, needsReview: 0, stillWaiting: 0 };
  for (const orderId of waiting) {
    if (deps.now() + 500 > options.deadline) {
      result.stillWaiting += 1;
      continue;
    }
    let outcome: ProcessOutcome;
    try {
      const log: ProcessDeps['log'] = (step, fields) => deps.log(step, { order_id: orderId, ...fields });
      outcome = await processOrder(orderId, 'sweep', Math.min(options.deadline, deps.now() + options.perOrderMs), { ...deps, log });
    } catch {
      outcome = { kind: 'retry', step: 'read', reason: 'internal_error' };
    }
    if (outcome.kind === 'acknowledged') result.acknowledged += 1;
    else if (outcome.kind === 'needs_review') result.needsReview += 1;
    else result.stillWaiting += 1;
  }
  return result;
};
