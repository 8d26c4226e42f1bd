/**
 * The ledger's promises, for any order Klarna could hold and any sequence of partial captures and
 * refunds: never more than authorized or captured, per line and in total; no negative amount
 * sent; every line sent consistent by Klarna's rule; the parts of a line add up to the line; and
 * capturing everything ends exactly at order_amount.
 */
import fc from 'fast-check';
import {
  cumulative,
  emptyLedger,
  lineKind,
  mulDivRound,
  planCapture,
  planRefund,
  splittable,
  totalsOf,
  type LedgerLine,
  type LedgerOrder,
  type LedgerState,
  type MoneyRequest,
  type Planned,
} from '../../functions/orders/ledger.js';

const rate = fc.constantFrom(0, 600, 1200, 1900, 2500, 575, 725);
const includedTax = (total: number, taxRate: number): number => total - mulDivRound(total, 10_000, 10_000 + taxRate);

const goods = fc
  .record({ quantity: fc.integer({ min: 1, max: 12 }), unit_price: fc.integer({ min: 0, max: 200_000 }), discountPart: fc.integer({ min: 0, max: 100 }), tax_rate: rate })
  .map(({ quantity, unit_price, discountPart, tax_rate }): Omit<LedgerLine, 'reference'> => {
    const gross = quantity * unit_price;
    const discount = Math.floor((gross * discountPart) / 400);
    const total = gross - discount;
    return { type: 'physical', name: 'Goods', quantity, unit_price, tax_rate, total_amount: total, total_discount_amount: discount, total_tax_amount: includedTax(total, tax_rate) };
  });
const fee = fc.record({ price: fc.integer({ min: 0, max: 20_000 }), tax_rate: rate, type: fc.constantFrom('shipping_fee', 'surcharge') }).map(
  ({ price, tax_rate, type }): Omit<LedgerLine, 'reference'> => ({ type, name: 'Fee', quantity: 1, unit_price: price, tax_rate, total_amount: price, total_discount_amount: 0, total_tax_amount: includedTax(price, tax_rate) }),
);

/** An order: goods, maybe fees, discounts up to the positive value, maybe a US sales tax line. */
const order = fc
  .record({
    goods: fc.array(goods, { minLength: 1, maxLength: 5 }),
    fees: fc.array(fee, { maxLength: 2 }),
    discountShares: fc.array(fc.integer({ min: 1, max: 100 }), { maxLength: 3 }),
    discountPercent: fc.integer({ min: 0, max: 100 }),
    salesTax: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
  })
  .map(({ goods, fees, discountShares, discountPercent, salesTax }): LedgerOrder => {
    const lines: LedgerLine[] = [...goods, ...fees].map((line, i) => ({ ...line, reference: `L${i}` }));
    const positive = lines.reduce((s, l) => s + l.total_amount, 0);
    const discountTotal = Math.floor((positive * discountPercent) / 100);
    const weights = discountShares.reduce((s, w) => s + w, 0);
    let given = 0;
    discountShares.forEach((w, i) => {
      const amount = i === discountShares.length - 1 ? discountTotal - given : Math.floor((discountTotal * w) / weights);
      given += amount;
      if (amount > 0) lines.push({ type: 'discount', reference: `D${i}`, name: 'Discount', quantity: 1, unit_price: -amount, tax_rate: 2500, total_amount: -amount, total_discount_amount: 0, total_tax_amount: -includedTax(amount, 2500) });
    });
    if (salesTax !== undefined) lines.push({ type: 'sales_tax', reference: 'TAX', name: 'Sales Tax', quantity: 1, unit_price: salesTax, tax_rate: 0, total_amount: salesTax, total_discount_amount: 0, total_tax_amount: 0 });
    return { order_amount: lines.reduce((s, l) => s + l.total_amount, 0), order_lines: lines };
  });

type Step = { kind: 'capture' | 'refund'; pick: number[]; amount?: number; all: boolean };
const step = fc.record({
  kind: fc.constantFrom<'capture' | 'refund'>('capture', 'refund'),
  pick: fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 8, maxLength: 8 }),
  amount: fc.option(fc.integer({ min: 1, max: 50_000 }), { nil: undefined }),
  all: fc.boolean(),
});

/** Build a request from a step: named goods lines with some units, an amount alone, or nothing (all). */
const requestFor = (o: LedgerOrder, s: Step): MoneyRequest => {
  if (s.all) return {};
  if (s.amount !== undefined && (s.pick[0] ?? 0) % 3 === 0) return { amount: s.amount };
  const lines = o.order_lines
    .map((line, i) => ({ line, i }))
    .filter(({ line, i }) => lineKind(line) !== 'share' && (s.pick[i % 8] ?? 0) % 2 === 0)
    .map(({ line, i }) => ({ reference: String(line.reference), quantity: lineKind(line) === 'fee' ? (line.quantity ?? 1) : Math.max(1, (s.pick[i % 8] ?? 1) % ((line.quantity ?? 1) + 1)) }));
  return { lines };
};

/** Klarna's rule for every line sent, and no negative goods or fee part. */
const checkLines = (planned: Planned, o: LedgerOrder): void => {
  for (const line of planned.order_lines ?? []) {
    expect(Number.isSafeInteger(line.total_amount)).toBe(true);
    expect(line.quantity * line.unit_price - line.total_discount_amount).toBe(line.total_amount);
    expect(line.total_discount_amount).toBeGreaterThanOrEqual(0);
    expect(line.quantity).toBeGreaterThan(0);
    const original = o.order_lines.find((l) => l.reference === line.reference);
    expect(original).toBeDefined();
    if (original && lineKind(original) !== 'share') expect(line.total_amount).toBeGreaterThanOrEqual(0);
  }
  if (planned.order_lines) expect(planned.order_lines.reduce((s, l) => s + l.total_amount, 0)).toBe(planned.amount);
};

/** Per line: captured within the line (same sign, not beyond it); refunded within captured. */
const checkPerLine = (o: LedgerOrder, state: LedgerState): void => {
  const captured = cumulative(o, state.captured_units);
  const refunded = cumulative(o, state.refunded_units);
  o.order_lines.forEach((line, i) => {
    const c = captured.amounts[i] ?? 0;
    const r = refunded.amounts[i] ?? 0;
    const ct = captured.taxes[i] ?? 0;
    if (line.total_amount >= 0) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(line.total_amount);
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(c);
    } else {
      expect(c).toBeLessThanOrEqual(0);
      expect(c).toBeGreaterThanOrEqual(line.total_amount);
      expect(r).toBeLessThanOrEqual(0);
      expect(r).toBeGreaterThanOrEqual(c);
    }
    expect(Math.abs(ct)).toBeLessThanOrEqual(Math.abs(line.total_tax_amount ?? 0));
    expect(state.refunded_units[i] ?? 0).toBeLessThanOrEqual(state.captured_units[i] ?? 0);
  });
};

describe('ledger', () => {
  it('never captures more than authorized or refunds more than captured, per line and in total, and never sends a negative amount', () => {
    fc.assert(
      fc.property(order, fc.array(step, { maxLength: 12 }), (o, steps) => {
        let state = emptyLedger(o);
        for (const s of steps) {
          const request = requestFor(o, s);
          const planned = s.kind === 'capture' ? planCapture(o, state, request) : planRefund(o, state, request);
          const before = totalsOf(o, state);
          if (!planned.ok) continue;
          expect(planned.amount).toBeGreaterThan(0);
          checkLines(planned, o);
          const after = totalsOf(o, planned.next);
          if (s.kind === 'capture') {
            expect(after.captured_amount - before.captured_amount).toBe(planned.amount);
            expect(planned.amount).toBeLessThanOrEqual(before.remaining_authorized_amount);
          } else {
            expect(after.refunded_amount - before.refunded_amount).toBe(planned.amount);
            expect(planned.amount).toBeLessThanOrEqual(before.refundable_amount);
          }
          expect(after.captured_amount).toBeLessThanOrEqual(o.order_amount);
          expect(after.refunded_amount).toBeLessThanOrEqual(after.captured_amount);
          state = planned.next;
          checkPerLine(o, state);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('ends exactly at order_amount when everything left is captured, whatever was captured before', () => {
    fc.assert(
      fc.property(order, fc.array(step, { maxLength: 6 }), (o, steps) => {
        let state = emptyLedger(o);
        for (const s of steps) {
          const planned = planCapture(o, state, requestFor(o, { ...s, kind: 'capture' }));
          if (planned.ok) state = planned.next;
        }
        const rest = planCapture(o, state, {});
        if (totalsOf(o, state).remaining_authorized_amount === 0) {
          expect(rest).toMatchObject({ ok: false, reason: 'nothing_to_capture' });
          return;
        }
        expect(rest.ok).toBe(true);
        if (!rest.ok) return;
        expect(totalsOf(o, rest.next).captured_amount).toBe(o.order_amount);
        if (state.captured_unallocated === 0 && splittable(o)) {
          // By lines: every line whole, its tax too.
          // `|| 0`: the generator can write a zero tax as -0 (a negated 0), which toEqual tells from 0.
          expect(cumulative(o, rest.next.captured_units).amounts).toEqual(o.order_lines.map((l) => l.total_amount || 0));
          expect(cumulative(o, rest.next.captured_units).taxes).toEqual(o.order_lines.map((l) => l.total_tax_amount || 0));
          // Refunding everything then gives back exactly what was captured.
          const refund = planRefund(o, rest.next, {});
          expect(refund).toMatchObject({ ok: true, amount: o.order_amount });
        }
      }),
      { numRuns: 400 },
    );
  });

  it('adds the parts of a line up to the line: three units captured one at a time', () => {
    const o: LedgerOrder = {
      order_amount: 10_000,
      order_lines: [{ type: 'physical', reference: 'A', name: 'A', quantity: 3, unit_price: 3334, tax_rate: 2500, total_amount: 10_000, total_discount_amount: 2, total_tax_amount: 2000 }],
    };
    let state = emptyLedger(o);
    const parts: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      const planned = planCapture(o, state, { lines: [{ reference: 'A', quantity: 1 }] });
      if (!planned.ok) throw new Error(planned.reason);
      parts.push(planned.amount);
      state = planned.next;
    }
    expect(parts).toEqual([3333, 3334, 3333]);
    expect(parts.reduce((s, p) => s + p, 0)).toBe(10_000);
  });
});

describe('policy for fee and share lines', () => {
  const o: LedgerOrder = {
    order_amount: 25_000 + 4_900 - 2_990,
    order_lines: [
      { type: 'physical', reference: 'TSHIRT', name: 'T-shirt', quantity: 2, unit_price: 12_500, tax_rate: 2500, total_amount: 25_000, total_discount_amount: 0, total_tax_amount: 5_000 },
      { type: 'shipping_fee', reference: 'standard', name: 'Delivery', quantity: 1, unit_price: 4_900, tax_rate: 2500, total_amount: 4_900, total_discount_amount: 0, total_tax_amount: 980 },
      { type: 'discount', reference: 'SALE', name: 'Sale', quantity: 1, unit_price: -2_990, tax_rate: 2500, total_amount: -2_990, total_discount_amount: 0, total_tax_amount: -598 },
    ],
  };

  it('takes the shipping fee whole with the first capture by lines and spreads the discount over what is taken', () => {
    const first = planCapture(o, emptyLedger(o), { lines: [{ reference: 'TSHIRT', quantity: 1 }] });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    // 12 500 + 4 900 taken of 29 900: the discount's share is round(-2 990 × 17 400 / 29 900) = -1 740.
    expect(first.order_lines?.map((l) => [l.reference, l.total_amount])).toEqual([
      ['TSHIRT', 12_500],
      ['standard', 4_900],
      ['SALE', -1_740],
    ]);
    expect(first.amount).toBe(15_660);
    const second = planCapture(o, first.next, { lines: [{ reference: 'TSHIRT', quantity: 1 }] });
    expect(second).toMatchObject({ ok: true, amount: o.order_amount - 15_660 });
  });

  it('refuses naming a discount, a part of a fee, an unknown line or more units than are left', () => {
    const empty = emptyLedger(o);
    expect(planCapture(o, empty, { lines: [{ reference: 'SALE', quantity: 1 }] })).toMatchObject({ ok: false, reason: 'line_not_selectable' });
    expect(planCapture(o, empty, { lines: [{ reference: 'standard', quantity: 2 }] })).toMatchObject({ ok: false, reason: 'partial_fee_line' });
    expect(planCapture(o, empty, { lines: [{ reference: 'NOPE', quantity: 1 }] })).toMatchObject({ ok: false, reason: 'unknown_line' });
    expect(planCapture(o, empty, { lines: [{ reference: 'TSHIRT', quantity: 3 }] })).toMatchObject({ ok: false, reason: 'quantity_exceeds_remaining' });
    expect(planCapture(o, empty, { lines: [{ reference: 'TSHIRT', quantity: 1 }], amount: 12_500 })).toMatchObject({ ok: false, reason: 'amount_mismatch' });
    expect(planCapture(o, empty, { amount: o.order_amount + 1 })).toMatchObject({ ok: false, reason: 'amount_exceeds_authorized' });
    expect(planRefund(o, empty, {})).toMatchObject({ ok: false, reason: 'nothing_to_refund' });
  });

  it('refunds a fee line only when named, and never more units than captured', () => {
    const captured = planCapture(o, emptyLedger(o), { lines: [{ reference: 'TSHIRT', quantity: 1 }] });
    if (!captured.ok) throw new Error(captured.reason);
    expect(planRefund(o, captured.next, { lines: [{ reference: 'TSHIRT', quantity: 2 }] })).toMatchObject({ ok: false, reason: 'quantity_exceeds_captured' });
    const refund = planRefund(o, captured.next, { lines: [{ reference: 'TSHIRT', quantity: 1 }] });
    expect(refund.ok && refund.order_lines?.map((l) => l.reference)).toEqual(['TSHIRT', 'SALE']);
    // A refund by amount makes line refunds impossible afterwards (the split would be unknown).
    const byAmount = planRefund(o, captured.next, { amount: 100 });
    if (!byAmount.ok) throw new Error(byAmount.reason);
    expect(planRefund(o, byAmount.next, { lines: [{ reference: 'TSHIRT', quantity: 1 }] })).toMatchObject({ ok: false, reason: 'refunded_by_amount' });
  });

  it('rounds money with integers only, half up, for amounts beyond 2^31', () => {
    expect(mulDivRound(9_007_199_254_740_991, 1, 3)).toBe(3_002_399_751_580_330);
    expect(mulDivRound(-5, 1, 2)).toBe(-2);
    expect(mulDivRound(5, 1, 2)).toBe(3);
  });
});
