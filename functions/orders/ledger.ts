/**
 * The money after the purchase, per line: what Klarna authorized (the recorded order's own lines),
 * what has been captured and refunded, and the exact lines and amounts a capture or refund sends.
 * Pure: integers in minor units, no clock, no I/O.
 *
 * The state is kept in units, never in amounts: every amount is computed from units with
 * cumulative rounding (what k of n units have taken so far, rounded, minus what was taken
 * before), so the parts of a line always add up to its total and a retry computes the same.
 * A part's tax is cumulative too, but kept within a fixed band of Klarna's tax formula
 * (`taxUpTo`), so every part passes Klarna's ±1 check as well as adding up to the line's tax.
 *
 * Policy by line (docs/orders-and-events.md, "Which lines a capture takes"):
 * - goods lines (`physical`, `digital`, `gift_card` and any other positive line) are taken by
 *   units, as the shop names them;
 * - fee lines (`shipping_fee`, `surcharge`) are taken whole, with the first capture by lines
 *   unless named earlier; a refund takes them only when named (or when everything is refunded);
 * - share lines (`discount`, `store_credit`, any negative line, and US `sales_tax`) are never
 *   named: they follow the goods and fees, each group (negative, positive) in proportion to the
 *   value taken so far, filled line by line in the order's order. Capturing everything takes
 *   each of them whole, so the captures end exactly at `order_amount`.
 * A capture or refund by `amount` alone sends no lines ("unallocated"); once there is one, lines
 * can no longer be named (the split would be unknown), but "everything left" still works.
 * An order with a line whose own tax fails Klarna's check is taken by amount only (no part of
 * such a line could pass it, nor the line itself), see `splittable`.
 */

/** The recorded order as the ledger needs it (functions/orders/order.ts OrderRecord fits). */
export type LedgerLine = {
  readonly type?: string | undefined;
  readonly reference?: string | null | undefined;
  readonly name?: string | undefined;
  readonly quantity?: number | undefined;
  readonly quantity_unit?: string | null | undefined;
  readonly unit_price?: number | undefined;
  readonly tax_rate?: number | undefined;
  readonly total_amount: number;
  readonly total_discount_amount?: number | undefined;
  readonly total_tax_amount?: number | undefined;
};
export type LedgerOrder = { readonly order_amount: number; readonly order_lines: readonly LedgerLine[] };

/** What has happened so far, per line index of the recorded order. */
export type LedgerState = {
  readonly captured_units: readonly number[];
  readonly refunded_units: readonly number[];
  /** Captured / refunded by `amount` alone, without lines. */
  readonly captured_unallocated: number;
  readonly refunded_unallocated: number;
};

/** A line as Klarna takes it in a capture or refund. */
export type KlarnaCommandLine = {
  type?: string;
  reference?: string;
  name: string;
  quantity: number;
  quantity_unit?: string;
  unit_price: number;
  tax_rate: number;
  total_amount: number;
  total_discount_amount: number;
  total_tax_amount: number;
};

export type LineRequest = { readonly reference: string; readonly quantity: number };
export type MoneyRequest = { readonly lines?: readonly LineRequest[] | undefined; readonly amount?: number | undefined };

/** Why a capture or refund is refused before Klarna is asked. `status`: 400 bad input, 409 state. */
export const ledgerReasons = {
  unknown_line: 400,
  ambiguous_line: 400,
  duplicate_line: 400,
  line_not_selectable: 400,
  partial_fee_line: 400,
  quantity_exceeds_remaining: 409,
  quantity_exceeds_captured: 409,
  amount_mismatch: 409,
  amount_exceeds_authorized: 409,
  amount_exceeds_captured: 409,
  nothing_to_capture: 409,
  nothing_to_refund: 409,
  captured_by_amount: 409,
  refunded_by_amount: 409,
} as const;
export type LedgerReason = keyof typeof ledgerReasons;

export type Planned = {
  readonly ok: true;
  /** captured_amount or refunded_amount: > 0, never more than what is left. */
  readonly amount: number;
  /** Absent for a capture or refund by amount alone. */
  readonly order_lines?: KlarnaCommandLine[];
  readonly next: LedgerState;
};
export type Refused = { readonly ok: false; readonly reason: LedgerReason; readonly message: string };

export type LineKind = 'units' | 'fee' | 'share';

const FEE_TYPES: ReadonlySet<string> = new Set(['shipping_fee', 'surcharge']);
const SHARE_TYPES: ReadonlySet<string> = new Set(['discount', 'store_credit', 'sales_tax']);

export const lineKind = (line: LedgerLine): LineKind => {
  if (line.total_amount < 0 || SHARE_TYPES.has(line.type ?? '')) return 'share';
  if (FEE_TYPES.has(line.type ?? '') || !(Number.isInteger(line.quantity) && (line.quantity ?? 0) > 0)) return 'fee';
  return 'units';
};

/** Units of a goods or fee line (a fee line, or one without a quantity, is one unit). */
const unitsOf = (line: LedgerLine): number => (lineKind(line) === 'units' ? (line.quantity as number) : 1);

// --- Integer arithmetic -----------------------------------------------------------------------

/** round(a × b / c), half up, exact for any safe integers (c > 0): monotone in a × b. */
export const mulDivRound = (a: number, b: number, c: number): number => {
  const numerator = 2n * BigInt(a) * BigInt(b) + BigInt(c);
  const denominator = 2n * BigInt(c);
  let quotient = numerator / denominator;
  // BigInt division truncates toward zero; we need the floor.
  if (numerator % denominator !== 0n && numerator < 0n) quotient -= 1n;
  return Number(quotient);
};

const sum = (values: readonly number[]): number => values.reduce((total, value) => total + value, 0);

/** ⌊n / d⌋ and ⌈n / d⌉ for d > 0 (BigInt division truncates toward zero). */
const floorDiv = (n: bigint, d: bigint): bigint => (n % d !== 0n && n < 0n ? n / d - 1n : n / d);
const ceilDiv = (n: bigint, d: bigint): bigint => -floorDiv(-n, d);

// --- Tax of a part ----------------------------------------------------------------------------

/**
 * Klarna's tax check for a line: its tax within ±1 of total × rate / (10000 + rate), exactly
 * (|tax·(10000 + rate) − total·rate| ≤ 10000 + rate, in BigInt: exact for any safe integers),
 * with a rate of 0 to 10000 basis points.
 */
export const taxFollowsKlarnaRule = (line: Pick<LedgerLine, 'tax_rate' | 'total_amount' | 'total_tax_amount'>): boolean => {
  const rate = line.tax_rate ?? 0;
  if (!Number.isInteger(rate) || rate < 0 || rate > 10_000) return false;
  const d = 10_000n + BigInt(rate);
  const off = BigInt(line.total_tax_amount ?? 0) * d - BigInt(line.total_amount) * BigInt(rate);
  return (off < 0n ? -off : off) <= d;
};

/**
 * The tax of a line up to a cumulative point: `amount` of its total taken so far, `done` of `of`
 * (units, or a share's own amount). The parts sent are differences of these cumulative values.
 *
 * Let t(a) = a × r / (10000 + r) be Klarna's tax for an amount (a real number, linear in a), and
 * δ = T − t(A) how far the line's own tax T is from it for its total A (|δ| ≤ 1: the line passes
 * Klarna's check). The cumulative tax X is kept within the fixed band
 *   t(amount) + [(δ − 1) / 2, (δ + 1) / 2]
 * (width 1, centred on δ/2; it holds both 0 and δ, so X = 0 at nothing and X = T at everything).
 * Every part, from any point to any later one, is then off Klarna's formula for its own amount by
 * the difference of two errors in the same band of width 1: at most 1, which is Klarna's check.
 * (A band of width 2, [−1, 1], would not do: two points in it can differ by 2.) Within the band,
 * X is the integer nearest the proportional tax T × done / of; the band and that target both move
 * one way as `done` grows, so X goes monotonically from 0 to T (refunded ≤ captured, no part of
 * the other sign than T), and parts stay close to an even split. Exact in BigInt. A line that
 * fails the check itself keeps the proportional tax (such an order is not split: `splittable`).
 */
export const taxUpTo = (line: LedgerLine, amount: number, done: number, of: number): number => {
  const total = line.total_amount;
  const tax = line.total_tax_amount ?? 0;
  if (of <= 0 || !taxFollowsKlarnaRule(line)) return of <= 0 ? 0 : mulDivRound(tax, done, of);
  const rate = BigInt(line.tax_rate ?? 0);
  const d = 10_000n + rate;
  // The band over 2d: t(amount) + (δ ± 1)/2 = (2·amount·r + T·d − A·r ± d) / 2d. (Negative lines alike.)
  const centre = 2n * BigInt(amount) * rate + BigInt(tax) * d - BigInt(total) * rate;
  const lowest = ceilDiv(centre - d, 2n * d);
  const highest = floorDiv(centre + d, 2n * d);
  const proportional = floorDiv(2n * BigInt(tax) * BigInt(done) + BigInt(of), 2n * BigInt(of));
  return Number(proportional < lowest ? lowest : proportional > highest ? highest : proportional);
};

// --- Cumulative amounts -----------------------------------------------------------------------

export const emptyLedger = (order: LedgerOrder): LedgerState => ({
  captured_units: order.order_lines.map(() => 0),
  refunded_units: order.order_lines.map(() => 0),
  captured_unallocated: 0,
  refunded_unallocated: 0,
});

type Cumulative = { amounts: number[]; taxes: number[] };

/** Positive value of the goods and fee lines: the base the share lines are spread over. */
const positiveBase = (order: LedgerOrder): number =>
  sum(order.order_lines.filter((line) => lineKind(line) !== 'share').map((line) => line.total_amount));

/**
 * Can the order be split by lines? Its lines add up to `order_amount`, there is something to
 * spread the shares over, the discounts do not exceed it (else a later part could go negative),
 * and every line's own tax passes Klarna's check (else no part of it could, nor the line whole:
 * Klarna would refuse the lines, so none are sent). Otherwise only amounts (and "everything",
 * as an amount) are possible.
 */
export const splittable = (order: LedgerOrder): boolean => {
  const base = positiveBase(order);
  const negative = sum(order.order_lines.filter((line) => lineKind(line) === 'share' && line.total_amount < 0).map((line) => line.total_amount));
  return (
    sum(order.order_lines.map((line) => line.total_amount)) === order.order_amount &&
    base > 0 &&
    -negative <= base &&
    order.order_lines.every(taxFollowsKlarnaRule)
  );
};

/** What `units` (per line) amount to so far, line by line, shares included. */
export const cumulative = (order: LedgerOrder, units: readonly number[]): Cumulative => {
  const lines = order.order_lines;
  const amounts = lines.map(() => 0);
  const taxes = lines.map(() => 0);
  let taken = 0;
  lines.forEach((line, i) => {
    if (lineKind(line) === 'share') return;
    const n = unitsOf(line);
    const u = units[i] ?? 0;
    amounts[i] = mulDivRound(line.total_amount, u, n);
    taxes[i] = taxUpTo(line, amounts[i] ?? 0, u, n);
    taken += amounts[i] ?? 0;
  });
  const base = positiveBase(order);
  for (const sign of [-1, 1]) {
    const group = lines.map((line, i) => ({ line, i })).filter(({ line }) => lineKind(line) === 'share' && Math.sign(line.total_amount) === sign);
    const groupTotal = sum(group.map(({ line }) => line.total_amount));
    let left = base > 0 ? mulDivRound(groupTotal, taken, base) : 0;
    for (const { line, i } of group) {
      const take = sign < 0 ? Math.max(line.total_amount, left) : Math.min(line.total_amount, left);
      left -= take;
      amounts[i] = take;
      taxes[i] = taxUpTo(line, take, Math.abs(take), Math.abs(line.total_amount));
    }
  }
  return { amounts, taxes };
};

export type LedgerTotals = {
  readonly captured_amount: number;
  readonly refunded_amount: number;
  /** order_amount − captured: what Klarna still holds authorized (before any release). */
  readonly remaining_authorized_amount: number;
  /** Captured and not refunded. */
  readonly refundable_amount: number;
};

export const totalsOf = (order: LedgerOrder, state: LedgerState): LedgerTotals => {
  const captured = sum(cumulative(order, state.captured_units).amounts) + state.captured_unallocated;
  const refunded = sum(cumulative(order, state.refunded_units).amounts) + state.refunded_unallocated;
  return {
    captured_amount: captured,
    refunded_amount: refunded,
    remaining_authorized_amount: order.order_amount - captured,
    refundable_amount: captured - refunded,
  };
};

// --- Lines sent -------------------------------------------------------------------------------

const defined = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

/**
 * The Klarna line for the part of `line` between two cumulative points: consistent by Klarna's
 * rule total_amount = quantity × unit_price − total_discount_amount, the discount never negative.
 */
const partLine = (line: LedgerLine, kind: LineKind, units: number, amount: number, tax: number): KlarnaCommandLine => {
  let quantity: number;
  let unitPrice: number;
  if (kind === 'share') {
    // A share has no units of its own: one unit of exactly its part.
    quantity = 1;
    unitPrice = amount;
  } else {
    quantity = kind === 'fee' ? (line.quantity !== undefined && line.quantity > 0 ? line.quantity : 1) : units;
    unitPrice = line.unit_price ?? Math.ceil(amount / quantity);
    if (quantity * unitPrice - amount < 0) unitPrice = Math.ceil(amount / quantity);
  }
  return defined({
    type: line.type,
    reference: line.reference ?? undefined,
    name: line.name ?? line.reference ?? line.type ?? 'line',
    quantity,
    quantity_unit: line.quantity_unit ?? undefined,
    unit_price: unitPrice,
    tax_rate: line.tax_rate ?? 0,
    total_amount: amount,
    total_discount_amount: quantity * unitPrice - amount,
    total_tax_amount: tax,
  });
};

/** The lines and amount of going from `before` to `after` units. */
const partBetween = (order: LedgerOrder, before: readonly number[], after: readonly number[]): { amount: number; lines: KlarnaCommandLine[] } => {
  const from = cumulative(order, before);
  const to = cumulative(order, after);
  const lines: KlarnaCommandLine[] = [];
  let amount = 0;
  order.order_lines.forEach((line, i) => {
    const kind = lineKind(line);
    const units = (after[i] ?? 0) - (before[i] ?? 0);
    const part = (to.amounts[i] ?? 0) - (from.amounts[i] ?? 0);
    const tax = (to.taxes[i] ?? 0) - (from.taxes[i] ?? 0);
    if (kind === 'share' ? part === 0 : units === 0) return;
    amount += part;
    lines.push(partLine(line, kind, units, part, tax));
  });
  return { amount, lines };
};

// --- Choosing lines ---------------------------------------------------------------------------

type Selection = { ok: true; units: number[] } | Refused;

const refuse = (reason: LedgerReason, message: string): Refused => ({ ok: false, reason, message });

/**
 * The units named by the shop, added to `base`; `limit(i)` is how many units line i may reach.
 * References are matched exactly against the goods and fee lines of the recorded order.
 */
const select = (
  order: LedgerOrder,
  base: readonly number[],
  requested: readonly LineRequest[],
  limit: (i: number) => number,
  overReason: 'quantity_exceeds_remaining' | 'quantity_exceeds_captured',
): Selection => {
  const units = [...base];
  const seen = new Set<string>();
  for (const { reference, quantity } of requested) {
    if (seen.has(reference)) return refuse('duplicate_line', `Line "${reference}" is named twice; name each line once with its quantity.`);
    seen.add(reference);
    const matches = order.order_lines.map((line, i) => ({ line, i })).filter(({ line }) => line.reference === reference);
    if (matches.length === 0) return refuse('unknown_line', `The order has no line with reference "${reference}".`);
    if (matches.length > 1) return refuse('ambiguous_line', `The order has ${matches.length} lines with reference "${reference}"; capture or refund them by amount.`);
    const { line, i } = matches[0] as { line: LedgerLine; i: number };
    const kind = lineKind(line);
    if (kind === 'share') return refuse('line_not_selectable', `Line "${reference}" (${line.type ?? 'negative'}) follows the goods it belongs to and cannot be named.`);
    const n = unitsOf(line);
    if (kind === 'fee' && quantity !== (line.quantity ?? 1)) {
      return refuse('partial_fee_line', `Line "${reference}" is a fee line and is taken whole (quantity ${line.quantity ?? 1}).`);
    }
    const wanted = (units[i] ?? 0) + (kind === 'fee' ? n : quantity);
    if (wanted > limit(i)) {
      const left = limit(i) - (units[i] ?? 0);
      return refuse(overReason, `Line "${reference}": ${quantity} asked, ${left} left.`);
    }
    units[i] = wanted;
  }
  return { ok: true, units };
};

// --- Capture and refund -----------------------------------------------------------------------

/** The state with one entry per order line (a stored state may be shorter: never written yet). */
const normalized = (order: LedgerOrder, state: LedgerState): LedgerState => ({
  ...state,
  captured_units: order.order_lines.map((_, i) => state.captured_units[i] ?? 0),
  refunded_units: order.order_lines.map((_, i) => state.refunded_units[i] ?? 0),
});

/** What a capture sends and the state after it, or why it is refused. */
export const planCapture = (order: LedgerOrder, stored: LedgerState, request: MoneyRequest): Planned | Refused => {
  const state = normalized(order, stored);
  const totals = totalsOf(order, state);
  const remaining = totals.remaining_authorized_amount;
  const byLines = splittable(order) && state.captured_unallocated === 0;

  if (request.lines === undefined || request.lines.length === 0) {
    if (remaining <= 0) return refuse('nothing_to_capture', 'Everything authorized has been captured.');
    if (request.amount !== undefined) {
      if (request.amount > remaining) return refuse('amount_exceeds_authorized', `${request.amount} asked, ${remaining} left authorized.`);
      return { ok: true, amount: request.amount, next: { ...state, captured_unallocated: state.captured_unallocated + request.amount } };
    }
    if (!byLines) return { ok: true, amount: remaining, next: { ...state, captured_unallocated: state.captured_unallocated + remaining } };
    // Everything still authorized, by lines.
    const all = order.order_lines.map((line) => (lineKind(line) === 'share' ? 0 : unitsOf(line)));
    const part = partBetween(order, state.captured_units, all);
    return { ok: true, amount: part.amount, order_lines: part.lines, next: { ...state, captured_units: all } };
  }

  if (state.captured_unallocated > 0) return refuse('captured_by_amount', 'This order was captured by amount; capture the rest by amount or capture everything left.');
  if (!splittable(order)) {
    return refuse('line_not_selectable', "This order's lines cannot be split (they do not add up to order_amount, discounts exceed the goods, or a line's tax fails Klarna's check); capture by amount.");
  }
  const chosen = select(order, state.captured_units, request.lines, (i) => unitsOf(order.order_lines[i] as LedgerLine), 'quantity_exceeds_remaining');
  if (!chosen.ok) return chosen;
  // Fee lines go with the first capture by lines unless captured already.
  const units = chosen.units.map((u, i) => (lineKind(order.order_lines[i] as LedgerLine) === 'fee' ? 1 : u));
  const part = partBetween(order, state.captured_units, units);
  if (part.amount <= 0) return refuse('nothing_to_capture', 'The lines named come to 0.');
  if (part.amount > remaining) return refuse('amount_exceeds_authorized', `The lines come to ${part.amount}, ${remaining} left authorized.`);
  if (request.amount !== undefined && request.amount !== part.amount) {
    return refuse('amount_mismatch', `The lines named come to ${part.amount}, not ${request.amount} (amounts are Klarna's own, rounded per line).`);
  }
  return { ok: true, amount: part.amount, order_lines: part.lines, next: { ...state, captured_units: units } };
};

/** What a refund sends and the state after it, or why it is refused. */
export const planRefund = (order: LedgerOrder, stored: LedgerState, request: MoneyRequest): Planned | Refused => {
  const state = normalized(order, stored);
  const totals = totalsOf(order, state);
  const refundable = totals.refundable_amount;
  const byLines = state.captured_unallocated === 0 && state.refunded_unallocated === 0 && splittable(order);

  if (request.lines === undefined || request.lines.length === 0) {
    if (refundable <= 0) return refuse('nothing_to_refund', 'Nothing captured is left to refund.');
    if (request.amount !== undefined) {
      if (request.amount > refundable) return refuse('amount_exceeds_captured', `${request.amount} asked, ${refundable} captured and not refunded.`);
      return { ok: true, amount: request.amount, next: { ...state, refunded_unallocated: state.refunded_unallocated + request.amount } };
    }
    if (!byLines) return { ok: true, amount: refundable, next: { ...state, refunded_unallocated: state.refunded_unallocated + refundable } };
    const all = [...state.captured_units];
    const part = partBetween(order, state.refunded_units, all);
    return { ok: true, amount: part.amount, order_lines: part.lines, next: { ...state, refunded_units: all } };
  }

  if (state.captured_unallocated > 0) return refuse('captured_by_amount', 'This order was captured by amount; refund by amount.');
  if (state.refunded_unallocated > 0) return refuse('refunded_by_amount', 'This order was refunded by amount; refund the rest by amount.');
  if (!splittable(order)) return refuse('line_not_selectable', "This order's lines cannot be split; refund by amount.");
  const chosen = select(order, state.refunded_units, request.lines, (i) => state.captured_units[i] ?? 0, 'quantity_exceeds_captured');
  if (!chosen.ok) return chosen;
  const part = partBetween(order, state.refunded_units, chosen.units);
  if (part.amount <= 0) return refuse('nothing_to_refund', 'The lines named come to 0.');
  if (part.amount > refundable) return refuse('amount_exceeds_captured', `The lines come to ${part.amount}, ${refundable} captured and not refunded.`);
  if (request.amount !== undefined && request.amount !== part.amount) {
    return refuse('amount_mismatch', `The lines named come to ${part.amount}, not ${request.amount} (amounts are Klarna's own, rounded per line).`);
  }
  return { ok: true, amount: part.amount, order_lines: part.lines, next: { ...state, refunded_units: chosen.units } };
};
