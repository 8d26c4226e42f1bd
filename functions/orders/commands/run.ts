/**
 * One command, once: the use case both the HTTP and the EventBridge handlers call.
 *
 * 1. A command already booked answers what it answered the first time (the same `command_id`
 *    with another body is refused `command_id_reused`).
 * 2. The order's command lease (one command per order at a time, so two captures cannot both
 *    spend the same units); a repeat of the command that holds it waits for its answer.
 * 3. The guards and the ledger decide, before Klarna is asked.
 * 4. One call to Klarna with `Klarna-Idempotency-Key` derived from the order id and the command
 *    id (the client retries 429, 5xx and timeouts with the same key, bounded). The plan is kept
 *    first, so a retry after a crash sends the same body under the same key and Klarna answers
 *    with the same capture.
 * 5. One conditional transaction books it: the entry, the ledger's new state, the command's answer
 *    and its event (published from the table's stream, so a booking and its event never part).
 * Refusals and failures publish `Command Refused` / `Command Failed` directly: they book nothing.
 */
import { idempotencyKey, type OmFailure, type OmResult, type OrderCommands } from '../order-management.js';
import { totalsOf } from '../ledger.js';
import { commandIdOf, commandReasons, fingerprintOf, type Command, type CommandReason } from './command.js';
import { decide, expiresAtOf, type GuardedOrder } from './guards.js';
import {
  commandEventTypes,
  type CaptureEntry,
  type CommandAnswer,
  type CommandEvent,
  type CommandEventDetail,
  type CommandLedgerStore,
  type Completion,
  type LedgerRecord,
  type PendingPlan,
  type RefundEntry,
  type StoredCommand,
} from './ports.js';

export type CommandDeps = {
  readonly orders: { get(orderId: string): Promise<GuardedOrder | undefined> };
  readonly ledger: CommandLedgerStore;
  readonly klarna: OrderCommands;
  /** Refusals and failures (bookings are published from the stream). */
  readonly publish: (event: CommandEvent) => Promise<void>;
  readonly now: () => number;
  readonly log: (step: string, fields?: Record<string, unknown>) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  /** How often a repeat polls for the answer of the attempt holding the lease. */
  readonly pollMs?: number;
};

export type CommandOutcome = CommandAnswer & {
  /** `booked`: done now; `replayed`: the answer of an earlier attempt; `refused`; `failed`: retry later. */
  readonly outcome: 'booked' | 'replayed' | 'refused' | 'failed';
  readonly reason?: CommandReason;
};

/** The key Klarna sees: the same for every delivery of the same command to the same order. */
export const commandIdempotencyKey = (orderId: string, commandId: string): string => idempotencyKey(orderId, `command:${commandId}`);

const LEASE_MARGIN_MS = 5_000;

const refusedAnswer = (reason: CommandReason, message: string, extra: Record<string, unknown> = {}): CommandAnswer => ({
  status: commandReasons[reason],
  body: { reason, message, ...extra },
});

const failureText = (failure: OmFailure): string =>
  failure.reason === 'status' ? `Klarna answered ${failure.status ?? 'an error'}${failure.error_code ? ` ${failure.error_code}` : ''}` : `Klarna: ${failure.reason}`;

/** Klarna's own refusals are final for this body; anything else may pass on a retry. */
const klarnaRefused = (failure: OmFailure): boolean =>
  failure.reason === 'status' && failure.status !== undefined && [400, 403, 409, 422].includes(failure.status);

export const runCommand = async (command: Command, deps: CommandDeps, deadline: number): Promise<CommandOutcome> => {
  const orderId = command.order_id;
  const commandId = commandIdOf(command);
  const fingerprint = fingerprintOf(command);
  const iso = (): string => new Date(deps.now()).toISOString();
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const base = { schema_version: 1 as const, order_id: orderId, command_id: commandId, command: command.kind };
  const log = (step: string, fields: Record<string, unknown> = {}): void => deps.log(step, { order_id: orderId, command_id: commandId, command: command.kind, ...fields });

  const refuse = async (reason: CommandReason, message: string, extra: Record<string, unknown> = {}): Promise<CommandOutcome> => {
    log('command_refused', { reason, ...extra });
    await deps.publish({ detailType: commandEventTypes.refused, detail: { ...base, occurred_at: iso(), reason, message, ...extra } });
    return { ...refusedAnswer(reason, message, extra), outcome: 'refused', reason };
  };
  const replay = (stored: StoredCommand): Promise<CommandOutcome> | CommandOutcome => {
    if (stored.fingerprint !== fingerprint) return refuse('command_id_reused', 'This command_id was used for another command on this order; use a new command_id.');
    log('command_replayed');
    return { ...stored.answer, outcome: 'replayed' };
  };

  const booked = await deps.ledger.command(orderId, commandId);
  if (booked) return replay(booked);

  const order = await deps.orders.get(orderId);
  if (!order) return refuse('unknown_order', 'No order with this id has been recorded.');

  // ---- The lease ------------------------------------------------------------------------------
  let ledger: LedgerRecord;
  for (;;) {
    const claim = await deps.ledger.claim(orderId, { command_id: commandId, fingerprint }, deps.now(), deadline + LEASE_MARGIN_MS);
    if (claim.kind === 'claimed') {
      ledger = claim.ledger;
      break;
    }
    // The lease was given up between our attempt and our look at it: try again.
    if (claim.command_id === '' && deps.now() < deadline) continue;
    if (claim.command_id !== commandId) return refuse('order_busy', 'Another command for this order is running; try again shortly.');
    if (claim.fingerprint !== fingerprint) return refuse('command_id_reused', 'This command_id was used for another command on this order; use a new command_id.');
    // The same command, running elsewhere: answer what it answers.
    const stored = await deps.ledger.command(orderId, commandId);
    if (stored) return replay(stored);
    if (deps.now() + (deps.pollMs ?? 100) >= deadline) return refuse('command_in_progress', 'This command is being carried out; repeat it to get its answer.');
    await sleep(deps.pollMs ?? 100);
  }

  const releaseAnd = async <T>(dropPlan: boolean, then: () => Promise<T>): Promise<T> => {
    await deps.ledger.release(orderId, commandId, dropPlan);
    return then();
  };

  // Booked between our first look and the lease.
  const late = await deps.ledger.command(orderId, commandId);
  if (late) return releaseAnd(true, async () => replay(late));

  const entries = await deps.ledger.entries(orderId);
  const decision = decide(command, order, ledger, entries.captures, deps.now());
  if (decision.kind === 'refuse') {
    return releaseAnd(false, () => refuse(decision.refusal.reason, decision.refusal.message));
  }

  // ---- The plan, kept before Klarna is asked -------------------------------------------------
  const reusable = ledger.plan && ledger.plan.command_id === commandId && ledger.plan.fingerprint === fingerprint && ledger.plan.base_version === ledger.version ? ledger.plan : undefined;
  const plan: PendingPlan = reusable ?? {
    command_id: commandId,
    fingerprint,
    base_version: ledger.version,
    ...(decision.kind === 'money' ? { klarna_body: decision.klarna_body, next_state: decision.planned.next } : {}),
  };
  if (!reusable) await deps.ledger.savePlan(orderId, plan);
  if (reusable) log('plan_reused', { base_version: plan.base_version });

  const key = commandIdempotencyKey(orderId, commandId);
  const body = plan.klarna_body ?? {};
  const totalsAfter = totalsOf(order, plan.next_state ?? ledger.state);
  const currency = order.purchase_currency;
  const now = iso();

  let result: OmResult<unknown>;
  let completion: (Omit<Completion, 'command'> & { answer: CommandAnswer; event?: CommandEvent }) | undefined;
  switch (command.kind) {
    case 'capture': {
      const call = await deps.klarna.capture(orderId, body as never, key, deadline);
      result = call;
      if (call.kind !== 'ok') break;
      const amount = Number(body.captured_amount);
      const entry: CaptureEntry = {
        capture_id: call.value.capture_id,
        captured_amount: amount,
        ...(body.order_lines ? { order_lines: body.order_lines as CaptureEntry['order_lines'] } : {}),
        ...(command.body.reference ? { reference: command.body.reference } : {}),
        ...(command.body.shipping_info ? { shipping_info: command.body.shipping_info } : {}),
        command_id: commandId,
        captured_at: now,
      };
      const answer = { capture_id: entry.capture_id, captured_amount: amount, remaining_authorized_amount: totalsAfter.remaining_authorized_amount, ...(entry.order_lines ? { order_lines: entry.order_lines } : {}) };
      completion = {
        answer: { status: 201, body: answer },
        capture: entry,
        ledger: { base_version: plan.base_version, ...(plan.next_state ? { state: plan.next_state } : {}) },
        event: { detailType: commandEventTypes.capture, detail: { ...base, occurred_at: now, purchase_currency: currency, ...answer, captured_total: totalsAfter.captured_amount, ...(entry.reference ? { reference: entry.reference } : {}) } },
      };
      break;
    }
    case 'refund': {
      const call = await deps.klarna.refund(orderId, body as never, key, deadline);
      result = call;
      if (call.kind !== 'ok') break;
      const amount = Number(body.refunded_amount);
      const entry: RefundEntry = {
        refund_id: call.value.refund_id,
        refunded_amount: amount,
        ...(body.order_lines ? { order_lines: body.order_lines as RefundEntry['order_lines'] } : {}),
        ...(command.body.reference ? { reference: command.body.reference } : {}),
        command_id: commandId,
        refunded_at: now,
      };
      const answer = { refund_id: entry.refund_id, refunded_amount: amount, ...(entry.order_lines ? { order_lines: entry.order_lines } : {}) };
      completion = {
        answer: { status: 201, body: answer },
        refund: entry,
        ledger: { base_version: plan.base_version, ...(plan.next_state ? { state: plan.next_state } : {}) },
        event: { detailType: commandEventTypes.refund, detail: { ...base, occurred_at: now, purchase_currency: currency, ...answer, refunded_total: totalsAfter.refunded_amount, captured_total: totalsAfter.captured_amount, ...(entry.reference ? { reference: entry.reference } : {}) } },
      };
      break;
    }
    case 'cancel': {
      result = await deps.klarna.cancel(orderId, key, deadline);
      if (result.kind !== 'ok') break;
      completion = {
        answer: { status: 200, body: { order_id: orderId, status: 'cancelled' } },
        ledger: { base_version: plan.base_version, set: { cancelled_at: now } },
        event: { detailType: commandEventTypes.cancel, detail: { ...base, occurred_at: now, order_amount: order.order_amount, purchase_currency: currency } },
      };
      break;
    }
    case 'release': {
      result = await deps.klarna.releaseRemainingAuthorization(orderId, key, deadline);
      if (result.kind !== 'ok') break;
      const released = totalsAfter.remaining_authorized_amount;
      completion = {
        answer: { status: 200, body: { order_id: orderId, status: 'released', released_amount: released } },
        ledger: { base_version: plan.base_version, set: { released_at: now } },
        event: { detailType: commandEventTypes.release, detail: { ...base, occurred_at: now, released_amount: released, captured_total: totalsAfter.captured_amount, purchase_currency: currency } },
      };
      break;
    }
    case 'extend': {
      result = await deps.klarna.extendAuthorizationTime(orderId, key, deadline);
      if (result.kind !== 'ok') break;
      // Klarna adds the account's period from now: read the new end rather than guess it.
      const reread = await deps.klarna.getOrder(orderId, deadline);
      const expiresAt = reread.kind === 'ok' ? reread.value.expires_at : undefined;
      const previous = expiresAtOf(order, ledger);
      completion = {
        answer: { status: 200, body: { order_id: orderId, status: 'extended', ...(expiresAt ? { expires_at: expiresAt } : {}) } },
        ledger: { base_version: plan.base_version, set: { extended_at: now, ...(expiresAt ? { expires_at: expiresAt } : {}) } },
        event: { detailType: commandEventTypes.extend, detail: { ...base, occurred_at: now, ...(expiresAt ? { expires_at: expiresAt } : {}), ...(previous ? { previous_expires_at: previous } : {}) } },
      };
      break;
    }
    case 'shipping_info': {
      result = await deps.klarna.addShippingInfo(orderId, command.capture_id, command.body.shipping_info, key, deadline);
      if (result.kind !== 'ok') break;
      completion = {
        answer: { status: 200, body: { order_id: orderId, capture_id: command.capture_id, shipping_info: command.body.shipping_info } },
        shippingInfo: { capture_id: command.capture_id, shipping_info: command.body.shipping_info },
        ledger: { base_version: plan.base_version },
      };
      break;
    }
  }

  if (result.kind === 'not_found') return releaseAnd(true, () => refuse('unknown_order', 'Klarna does not know this order (NO_SUCH_ORDER).'));
  if (result.kind === 'failed') {
    if (klarnaRefused(result)) {
      // Klarna refused this body: nothing was booked, a retry may plan afresh.
      return releaseAnd(true, () => refuse('klarna_refused', `${failureText(result as OmFailure)}.`, result.kind === 'failed' && result.error_code ? { klarna_error_code: result.error_code } : {}));
    }
    const failure = result;
    log('command_failed', { failure: failure.reason, status: failure.status, error_code: failure.error_code, attempts: failure.attempts });
    // The plan stays: a retry of this command sends the same body under the same key.
    await deps.ledger.release(orderId, commandId, false);
    await deps.publish({
      detailType: commandEventTypes.failed,
      detail: { ...base, occurred_at: iso(), reason: 'klarna_unavailable', failure: failure.reason, attempts: failure.attempts, ...(failure.status ? { status: failure.status } : {}), ...(failure.error_code ? { klarna_error_code: failure.error_code } : {}) },
    });
    return { ...refusedAnswer('klarna_unavailable', `${failureText(failure)}; nothing is lost: repeat the command with the same command_id.`), outcome: 'failed', reason: 'klarna_unavailable' };
  }

  // ---- Book it --------------------------------------------------------------------------------
  if (!completion) throw new Error(`no booking for ${command.kind}`);
  const { answer, event, ...changes } = completion;
  const stored: StoredCommand = { command_id: commandId, kind: command.kind, fingerprint, answer, completed_at: now, ...(event ? { event } : {}) };
  const written = await deps.ledger.complete(orderId, { ...changes, command: stored });
  if (written === 'conflict') {
    const first = await deps.ledger.command(orderId, commandId);
    if (first) return replay(first);
    // Klarna booked but the ledger moved on without us (our lease ran out): a retry replays it.
    log('command_booking_conflict', { attempts: result.attempts });
    throw new Error('command booked at Klarna but the ledger changed under it; retry the command');
  }
  log('command_booked', { attempts: result.attempts, status: answer.status });
  return { ...answer, outcome: 'booked' };
};

export type { CommandEventDetail };
