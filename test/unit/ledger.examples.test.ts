/**
 * The ledger by example: the exact answer for each refusal (reason and the message the shop sees),
 * and the lines sent for recorded lines that lack fields Klarna's lines must carry. The promises
 * for any order are the properties in ledger.property.test.ts; these pin what they leave open.
 */
import { emptyLedger, lineKind, mulDivRound, planCapture, planRefund, splittable, taxFollowsKlarnaRule, taxUpTo, totalsOf, type LedgerOrder, type LedgerState, type Planned, type Refused } from '../../functions/orders/ledger.js';

const order: LedgerOrder = {
  order_amount: 27_000,
  order_lines: [
    { type: 'physical', reference: 'A', name: 'A', quantity: 2, unit_price: 10_000, tax_rate: 2500, total_amount: 20_000, total_discount_amount: 0, total_tax_amount: 4_000 },
    { type: 'shipping_fee', reference: 'S', name: 'S', quantity: 1, unit_price: 7_000, tax_rate: 2500, total_amount: 7_000, total_discount_amount: 0, total_tax_amount: 1_400 },
  ],
};
const empty = emptyLedger(order);
const next = (planned: Planned | Refused): LedgerState => {
  if (!planned.ok) throw new Error(planned.message);
  return planned.next;
};
const refused = (reason: string, message: string): Refused => ({ ok: false, reason, message }) as Refused;

describe('ledger refusals', () => {
  // States built inside each test (see below), not while collecting the tests.
  const byAmount = (): LedgerState => next(planCapture(order, empty, { amount: 100 }));
  const oneCaptured = (): LedgerState => next(planCapture(order, empty, { lines: [{ reference: 'A', quantity: 1 }] }));
  const allCaptured = (): LedgerState => next(planCapture(order, empty, {}));
  const allRefunded = (): LedgerState => next(planRefund(order, allCaptured(), {}));
  const refundedByAmount = (): LedgerState => next(planRefund(order, oneCaptured(), { amount: 100 }));
  const twice: LedgerOrder = { order_amount: 200, order_lines: [{ reference: 'D', quantity: 1, unit_price: 100, total_amount: 100 }, { reference: 'D', quantity: 1, unit_price: 100, total_amount: 100 }] };
  // Tax 50 on 100 at 25 %: Klarna's formula says 20, so no line of this order is sent.
  const taxOff: LedgerOrder = { order_amount: 100, order_lines: [{ reference: 'B', quantity: 1, unit_price: 100, total_amount: 100, tax_rate: 2500, total_tax_amount: 50 }] };
  // Goods of 0 and a fee: naming only the goods, once the fee is taken, comes to 0.
  const free: LedgerOrder = {
    order_amount: 500,
    order_lines: [
      { type: 'physical', reference: 'G', quantity: 1, unit_price: 0, total_amount: 0 },
      { type: 'surcharge', reference: 'F', quantity: 1, unit_price: 500, total_amount: 500 },
    ],
  };
  const freeFeeTaken = (): LedgerState => next(planCapture(free, emptyLedger(free), { lines: [{ reference: 'F', quantity: 1 }] }));
  const freeAll = (): LedgerState => next(planCapture(free, emptyLedger(free), {}));
  const freeFeeRefunded = (): LedgerState => next(planRefund(free, freeAll(), { lines: [{ reference: 'F', quantity: 1 }] }));

  it.each([
    ['a line named twice', () => planCapture(order, empty, { lines: [{ reference: 'A', quantity: 1 }, { reference: 'A', quantity: 1 }] }), refused('duplicate_line', 'Line "A" is named twice; name each line once with its quantity.')],
    ['more units than the line has', () => planCapture(order, empty, { lines: [{ reference: 'A', quantity: 3 }] }), refused('quantity_exceeds_remaining', 'Line "A": 3 asked, 2 left.')],
    ['units already captured', () => planCapture(order, allCaptured(), { lines: [{ reference: 'A', quantity: 1 }] }), refused('quantity_exceeds_remaining', 'Line "A": 1 asked, 0 left.')],
    ['an amount above what is authorized', () => planCapture(order, empty, { amount: 27_001 }), refused('amount_exceeds_authorized', '27001 asked, 27000 left authorized.')],
    ['lines and an amount that differ', () => planCapture(order, empty, { lines: [{ reference: 'A', quantity: 1 }], amount: 5 }), refused('amount_mismatch', "The lines named come to 17000, not 5 (amounts are Klarna's own, rounded per line).")],
    ['part of a fee line', () => planCapture(order, empty, { lines: [{ reference: 'S', quantity: 2 }] }), refused('partial_fee_line', 'Line "S" is a fee line and is taken whole (quantity 1).')],
    ['an unknown line', () => planCapture(order, empty, { lines: [{ reference: 'X', quantity: 1 }] }), refused('unknown_line', 'The order has no line with reference "X".')],
    ['two lines with the reference', () => planCapture(twice, emptyLedger(twice), { lines: [{ reference: 'D', quantity: 1 }] }), refused('ambiguous_line', 'The order has 2 lines with reference "D"; capture or refund them by amount.')],
    ['lines after a capture by amount', () => planCapture(order, byAmount(), { lines: [{ reference: 'A', quantity: 1 }] }), refused('captured_by_amount', 'This order was captured by amount; capture the rest by amount or capture everything left.')],
    ['everything captured', () => planCapture(order, allCaptured(), {}), refused('nothing_to_capture', 'Everything authorized has been captured.')],
    ['an amount when everything is captured', () => planCapture(order, allCaptured(), { amount: 1 }), refused('nothing_to_capture', 'Everything authorized has been captured.')],
    ['lines that come to 0', () => planCapture(free, freeFeeTaken(), { lines: [{ reference: 'G', quantity: 1 }] }), refused('nothing_to_capture', 'The lines named come to 0.')],
    ['lines of an order that cannot be split', () => planCapture(taxOff, emptyLedger(taxOff), { lines: [{ reference: 'B', quantity: 1 }] }), refused('line_not_selectable', "This order's lines cannot be split (they do not add up to order_amount, discounts exceed the goods, or a line's tax fails Klarna's check); capture by amount.")],
    ['a refund of lines after a capture by amount', () => planRefund(order, byAmount(), { lines: [{ reference: 'A', quantity: 1 }] }), refused('captured_by_amount', 'This order was captured by amount; refund by amount.')],
    ['a refund of lines after a refund by amount', () => planRefund(order, refundedByAmount(), { lines: [{ reference: 'A', quantity: 1 }] }), refused('refunded_by_amount', 'This order was refunded by amount; refund the rest by amount.')],
    ['a refund above what is captured', () => planRefund(order, byAmount(), { amount: 101 }), refused('amount_exceeds_captured', '101 asked, 100 captured and not refunded.')],
    ['a refund of more units than captured', () => planRefund(order, oneCaptured(), { lines: [{ reference: 'A', quantity: 2 }] }), refused('quantity_exceeds_captured', 'Line "A": 2 asked, 1 left.')],
    ['a refund of lines and an amount that differ', () => planRefund(order, oneCaptured(), { lines: [{ reference: 'A', quantity: 1 }], amount: 1 }), refused('amount_mismatch', "The lines named come to 10000, not 1 (amounts are Klarna's own, rounded per line).")],
    ['a refund when everything is refunded', () => planRefund(order, allRefunded(), {}), refused('nothing_to_refund', 'Nothing captured is left to refund.')],
    ['a refund of an amount when nothing is captured', () => planRefund(order, empty, { amount: 1 }), refused('nothing_to_refund', 'Nothing captured is left to refund.')],
    ['a refund of lines that come to 0', () => planRefund(free, freeFeeRefunded(), { lines: [{ reference: 'G', quantity: 1 }] }), refused('nothing_to_refund', 'The lines named come to 0.')],
    ['a refund of lines of an order that cannot be split', () => planRefund(taxOff, emptyLedger(taxOff), { lines: [{ reference: 'B', quantity: 1 }] }), refused('line_not_selectable', "This order's lines cannot be split; refund by amount.")],
  ])('refuses %s', (_name, plan, expected) => {
    // Planned inside the test, not while collecting: Stryker credits a mutant to the tests that reach it.
    expect(plan()).toEqual(expected);
  });
});

describe('lines sent for recorded lines that lack fields', () => {
  // No type, reference or name; no quantity (one unit, taken whole like a fee); a null reference;
  // a fee of two units with a unit; an empty stored state (a ledger never written yet).
  const bare: LedgerOrder = {
    order_amount: 1_000 + 300 + 100 + 500,
    order_lines: [
      { total_amount: 1_000, quantity: 3, tax_rate: 2500, total_tax_amount: 200 },
      { type: 'physical', reference: 'R', total_amount: 300 },
      { type: 'digital', reference: null, quantity: 1, unit_price: 100, total_amount: 100 },
      { type: 'shipping_fee', reference: 'S', name: 'Ship', quantity: 2, quantity_unit: 'pcs', unit_price: 250, tax_rate: 0, total_amount: 500, total_tax_amount: 0 },
    ],
  };
  const never: LedgerState = { captured_units: [], refunded_units: [], captured_unallocated: 0, refunded_unallocated: 0 };

  it('names them by reference, type or "line", prices them from their total, and sends only the fields they have', () => {
    expect(planCapture(bare, never, {})).toEqual({
      ok: true,
      amount: 1_900,
      order_lines: [
        { name: 'line', quantity: 3, unit_price: 334, tax_rate: 2500, total_amount: 1_000, total_discount_amount: 2, total_tax_amount: 200 },
        { type: 'physical', reference: 'R', name: 'R', quantity: 1, unit_price: 300, tax_rate: 0, total_amount: 300, total_discount_amount: 0, total_tax_amount: 0 },
        { type: 'digital', name: 'digital', quantity: 1, unit_price: 100, tax_rate: 0, total_amount: 100, total_discount_amount: 0, total_tax_amount: 0 },
        { type: 'shipping_fee', reference: 'S', name: 'Ship', quantity: 2, quantity_unit: 'pcs', unit_price: 250, tax_rate: 0, total_amount: 500, total_discount_amount: 0, total_tax_amount: 0 },
      ],
      next: { captured_units: [3, 1, 1, 1], refunded_units: [0, 0, 0, 0], captured_unallocated: 0, refunded_unallocated: 0 },
    });
  });

  it('takes the fee lines (and lines without a quantity) with the first capture by lines, from a state never written', () => {
    const planned = planCapture(bare, never, { lines: [{ reference: 'S', quantity: 2 }] });
    expect(planned.ok && [planned.amount, planned.order_lines?.map((line) => line.reference ?? line.name), planned.next.captured_units]).toEqual([800, ['R', 'S'], [0, 1, 0, 1]]);
    const refund = planRefund(bare, next(planned), { lines: [{ reference: 'R', quantity: 1 }] });
    expect(refund.ok && [refund.amount, refund.next.refunded_units]).toEqual([300, [0, 1, 0, 0]]);
  });

  it('sorts lines into goods (by units), fees (whole) and shares (following the rest)', () => {
    expect(
      [
        { type: 'physical', quantity: 2, total_amount: 10 },
        { type: 'gift_card', quantity: 1, total_amount: 10 },
        { type: 'physical', quantity: 0, total_amount: 10 },
        { type: 'physical', quantity: 1.5, total_amount: 10 },
        { type: 'physical', total_amount: 10 },
        { type: 'surcharge', quantity: 3, total_amount: 10 },
        { type: 'physical', quantity: 1, total_amount: -10 },
        { type: 'sales_tax', quantity: 1, total_amount: 10 },
        { type: 'store_credit', quantity: 1, total_amount: 0 },
        { quantity: 1, total_amount: 0 },
      ].map(lineKind),
    ).toEqual(['units', 'units', 'fee', 'fee', 'fee', 'fee', 'share', 'share', 'share', 'units']);
  });
});

describe('integer arithmetic', () => {
  it('rounds half up on both sides of zero, and takes the floor only when the division is inexact', () => {
    expect([mulDivRound(-6, 1, 4), mulDivRound(-7, 1, 4), mulDivRound(-5, 1, 4), mulDivRound(-8, 1, 4), mulDivRound(6, 1, 4), mulDivRound(0, 5, 3)]).toEqual([-1, -2, -1, -2, 2, 0]);
  });

  it('taxes a part of nothing as 0, and a line that fails Klarna\'s check in proportion', () => {
    const line = { total_amount: 100, tax_rate: 2500, total_tax_amount: 20 };
    expect([taxUpTo(line, 0, 0, 0), taxUpTo(line, 50, 1, 0), taxUpTo(line, 50, 1, -1)]).toEqual([0, 0, 0]);
    // Tax 50 of 100 at 25 % (Klarna says 20): half of it is 25, whatever the band would say.
    const off = { total_amount: 100, tax_rate: 2500, total_tax_amount: 50 };
    expect([taxUpTo(off, 50, 1, 2), taxUpTo(off, 100, 2, 2), taxUpTo(off, 33, 1, 3)]).toEqual([25, 50, 17]);
    // A rate out of Klarna's range fails its check too.
    expect(taxUpTo({ total_amount: 100, tax_rate: 10_001, total_tax_amount: 50 }, 50, 1, 2)).toBe(25);
    expect(taxUpTo({ total_amount: 100, tax_rate: -1, total_tax_amount: 0 }, 50, 1, 2)).toBe(0);
    expect(taxUpTo({ total_amount: 100, tax_rate: 12.5, total_tax_amount: 10 }, 50, 1, 2)).toBe(5);
  });
});

describe('lines sent for parts', () => {
  // Two goods lines (one discounted: 2 × 100 − 50), two discounts, a fee.
  const shop: LedgerOrder = {
    order_amount: 150 + 300 + 100 - 40 - 60,
    order_lines: [
      { type: 'physical', reference: 'A', name: 'A', quantity: 2, unit_price: 100, tax_rate: 0, total_amount: 150, total_discount_amount: 50, total_tax_amount: 0 },
      { type: 'physical', reference: 'B', name: 'B', quantity: 3, unit_price: 100, tax_rate: 0, total_amount: 300, total_discount_amount: 0, total_tax_amount: 0 },
      { type: 'shipping_fee', reference: 'S', name: 'S', quantity: 1, unit_price: 100, tax_rate: 0, total_amount: 100, total_discount_amount: 0, total_tax_amount: 0 },
      { type: 'discount', reference: 'D1', name: 'D1', quantity: 1, unit_price: -40, tax_rate: 0, total_amount: -40, total_discount_amount: 0, total_tax_amount: 0 },
      { type: 'discount', reference: 'D2', name: 'D2', quantity: 1, unit_price: -60, tax_rate: 0, total_amount: -60, total_discount_amount: 0, total_tax_amount: 0 },
    ],
  };
  const line = (reference: string, quantity: number, unit_price: number, total_amount: number) => ({
    type: reference.startsWith('D') ? 'discount' : reference === 'S' ? 'shipping_fee' : 'physical',
    reference,
    name: reference,
    quantity,
    unit_price,
    tax_rate: 0,
    total_amount,
    total_discount_amount: quantity * unit_price - total_amount,
    total_tax_amount: 0,
  });

  it('sends the units named (not the line\'s quantity), the fee, and the discounts filled line by line', () => {
    const first = planCapture(shop, emptyLedger(shop), { lines: [{ reference: 'B', quantity: 1 }] });
    // 100 + 100 taken of 550: the discounts' share is round(−100 × 200 / 550) = −36, all of it from D1 first.
    expect(first).toEqual({
      ok: true,
      amount: 164,
      order_lines: [line('B', 1, 100, 100), line('S', 1, 100, 100), line('D1', 1, -36, -36)],
      next: { captured_units: [0, 1, 1, 0, 0], refunded_units: [0, 0, 0, 0, 0], captured_unallocated: 0, refunded_unallocated: 0 },
    });
    const second = planCapture(shop, next(first), { lines: [{ reference: 'A', quantity: 1 }, { reference: 'B', quantity: 2 }] });
    // 475 taken of 550 (A's first unit is 75): the discounts' share is round(−100 × 475 / 550) = −86:
    // D1's last 4, then 46 of D2.
    expect(second).toEqual({
      ok: true,
      amount: 75 + 200 - 50,
      order_lines: [line('A', 1, 100, 75), line('B', 2, 100, 200), line('D1', 1, -4, -4), line('D2', 1, -46, -46)],
      next: { captured_units: [1, 3, 1, 0, 0], refunded_units: [0, 0, 0, 0, 0], captured_unallocated: 0, refunded_unallocated: 0 },
    });
    const rest = planCapture(shop, next(second), {});
    expect(rest.ok && rest.order_lines).toEqual([line('A', 1, 100, 75), line('D2', 1, -14, -14)]);
    expect(planCapture(shop, next(rest), {})).toMatchObject({ ok: false, reason: 'nothing_to_capture' });
  });

  it('captures everything by lines without counting the discounts as units, and exactly what is left by amount', () => {
    const all = planCapture(shop, emptyLedger(shop), {});
    expect(all.ok && [all.amount, all.next.captured_units]).toEqual([450, [2, 3, 1, 0, 0]]);
    expect(all.ok && all.order_lines?.map((sent) => [sent.reference, sent.quantity, sent.unit_price, sent.total_amount])).toEqual([
      ['A', 2, 100, 150],
      ['B', 3, 100, 300],
      ['S', 1, 100, 100],
      ['D1', 1, -40, -40],
      ['D2', 1, -60, -60],
    ]);
    expect(planCapture(shop, emptyLedger(shop), { amount: 450 })).toMatchObject({ ok: true, amount: 450 });
    expect(planRefund(shop, next(all), { amount: 450 })).toMatchObject({ ok: true, amount: 450 });
  });

  it('takes lines named with the amount they come to (a refund of B: 100 and its share of the discounts, round(−100 × 100 / 550) = −18)', () => {
    const first = planCapture(shop, emptyLedger(shop), { lines: [{ reference: 'B', quantity: 1 }], amount: 164 });
    expect(first).toMatchObject({ ok: true, amount: 164 });
    expect(planRefund(shop, next(first), { lines: [{ reference: 'B', quantity: 1 }], amount: 82 })).toMatchObject({ ok: true, amount: 82 });
  });

  it('takes an empty list of lines as everything left, by lines', () => {
    const all = planCapture(shop, emptyLedger(shop), { lines: [] });
    expect(all.ok && [all.amount, all.order_lines?.length]).toEqual([450, 5]);
    const refund = planRefund(shop, next(all), { lines: [] });
    expect(refund.ok && [refund.amount, refund.order_lines?.length, refund.next.refunded_units]).toEqual([450, 5, [2, 3, 1, 0, 0]]);
  });

  it('refuses naming a discount or a negative line, saying which', () => {
    expect(planCapture(shop, emptyLedger(shop), { lines: [{ reference: 'D2', quantity: 1 }] })).toEqual(
      refused('line_not_selectable', 'Line "D2" (discount) follows the goods it belongs to and cannot be named.'),
    );
    const untyped: LedgerOrder = { order_amount: 50, order_lines: [{ reference: 'G', quantity: 1, unit_price: 100, total_amount: 100 }, { reference: 'N', total_amount: -50 }] };
    expect(planCapture(untyped, emptyLedger(untyped), { lines: [{ reference: 'N', quantity: 1 }] })).toEqual(
      refused('line_not_selectable', 'Line "N" (negative) follows the goods it belongs to and cannot be named.'),
    );
  });

  it('takes a line without a quantity whole when named with 1, and refuses any other quantity of it', () => {
    const o: LedgerOrder = { order_amount: 300, order_lines: [{ type: 'physical', reference: 'R', total_amount: 300 }] };
    expect(planCapture(o, emptyLedger(o), { lines: [{ reference: 'R', quantity: 1 }] })).toMatchObject({ ok: true, amount: 300 });
    expect(planCapture(o, emptyLedger(o), { lines: [{ reference: 'R', quantity: 2 }] })).toEqual(refused('partial_fee_line', 'Line "R" is a fee line and is taken whole (quantity 1).'));
  });

  it('sends a fee of quantity 0 as one unit, and raises a unit price below the part to the part\'s own', () => {
    // Recorded lines Klarna would not write, sent so that Klarna takes them.
    const o: LedgerOrder = {
      order_amount: 300 + 40,
      order_lines: [
        { type: 'physical', reference: 'P', quantity: 2, unit_price: 100, total_amount: 300 },
        { type: 'surcharge', reference: 'Z', quantity: 0, unit_price: 40, total_amount: 40 },
      ],
    };
    const all = planCapture(o, emptyLedger(o), {});
    expect(all.ok && all.order_lines?.map((sent) => [sent.reference, sent.quantity, sent.unit_price, sent.total_discount_amount])).toEqual([
      ['P', 2, 150, 0],
      ['Z', 1, 40, 0],
    ]);
  });

  it('captures nothing from an order of shares alone, and by amount only', () => {
    const credit: LedgerOrder = { order_amount: -500, order_lines: [{ type: 'store_credit', reference: 'C', quantity: 1, unit_price: -500, total_amount: -500 }] };
    expect(totalsOf(credit, emptyLedger(credit))).toEqual({ captured_amount: 0, refunded_amount: 0, remaining_authorized_amount: -500, refundable_amount: 0 });
    expect(planCapture(credit, emptyLedger(credit), {})).toMatchObject({ ok: false, reason: 'nothing_to_capture' });
  });
});

describe('when an order splits by lines', () => {
  const goods = { type: 'physical', reference: 'G', quantity: 1, unit_price: 1_000, tax_rate: 2500, total_amount: 1_000, total_tax_amount: 200 };
  const discount = (amount: number) => ({ type: 'discount', reference: 'D', quantity: 1, unit_price: -amount, tax_rate: 0, total_amount: -amount, total_tax_amount: 0 });

  it.each([
    ['goods alone', { order_amount: 1_000, order_lines: [goods] }, true],
    ['a discount as large as the goods', { order_amount: 0, order_lines: [goods, discount(1_000)] }, true],
    ['a discount larger than the goods', { order_amount: -1, order_lines: [goods, discount(1_001)] }, false],
    ['a US sales tax line (a positive share) beside the goods', { order_amount: 1_080, order_lines: [goods, { type: 'sales_tax', reference: 'T', total_amount: 80 }] }, true],
    ['discounts beyond the goods, a sales tax line making up for them', { order_amount: 30, order_lines: [goods, discount(1_050), { type: 'sales_tax', reference: 'T', total_amount: 80 }] }, false],
    ['lines that do not add up to order_amount', { order_amount: 999, order_lines: [goods] }, false],
    ['nothing to spread the shares over', { order_amount: -10, order_lines: [discount(10)] }, false],
    ['goods of 0 only', { order_amount: 0, order_lines: [{ ...goods, unit_price: 0, total_amount: 0, total_tax_amount: 0 }] }, false],
    ['one line whose tax fails Klarna\'s check', { order_amount: 2_000, order_lines: [goods, { ...goods, reference: 'H', total_tax_amount: 0 }] }, false],
  ])('%s: %s', (_name, order, expected) => {
    expect(splittable(order as LedgerOrder)).toBe(expected);
  });

  it('checks a line\'s tax as Klarna does: within 1 either way, at a rate of 0 to 10 000 whole basis points', () => {
    const at = (tax_rate: number, total_amount: number, total_tax_amount: number): boolean => taxFollowsKlarnaRule({ tax_rate, total_amount, total_tax_amount });
    // 1 000 at 25 %: Klarna's tax is 200; 199 to 201 pass.
    expect([at(2500, 1_000, 199), at(2500, 1_000, 201), at(2500, 1_000, 198), at(2500, 1_000, 202), at(2500, 1_000, 0), at(2500, 1_000, 500)]).toEqual([true, true, false, false, false, false]);
    expect([at(2500, -1_000, -200), at(2500, -1_000, 200), at(0, 1_000, 0), at(0, 1_000, 2), at(10_000, 1_000, 500)]).toEqual([true, false, true, false, true]);
    expect([at(-1, 1_000, 0), at(10_001, 1_000, 500), at(12.5, 1_000, 1)]).toEqual([false, false, false]);
    expect(taxFollowsKlarnaRule({ total_amount: 1_000 })).toBe(true);
  });
});
